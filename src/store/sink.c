/* The store as a session sink (src/session/): every report, matrix summary and paired document a
 * verb finishes is recorded. Recording must not cost the run its result, so a failure is kept, not
 * returned: the JSON sink still writes the files, and the verb asks sb_store_sink_status() at the
 * end and warns. */
#include <errno.h>
#include <stdlib.h>

#include "session/session.h"
#include "store/store.h"

struct store_sink {
	struct sb_sink base;
	struct sb_store *store;
	struct sb_store_outcome outcome;
	struct sb_error first; /* the first failure; code 0: none */
	unsigned failed;
};

static void keep(struct store_sink *k, const struct sb_error *e)
{
	if (k->failed++ == 0)
		k->first = *e;
}

static int on_report(struct sb_sink *sink, const json_t *report, char *where, size_t where_len, struct sb_error *err)
{
	struct store_sink *k = (struct store_sink *)sink;
	struct sb_error e = {0};
	(void)where;
	(void)where_len;
	(void)err;
	if (sb_store_record_report(k->store, report, &k->outcome, &e) < 0)
		keep(k, &e);
	return 0;
}

static int on_matrix(struct sb_sink *sink, const json_t *summary, struct sb_error *err)
{
	struct store_sink *k = (struct store_sink *)sink;
	struct sb_error e = {0};
	(void)err;
	if (sb_store_record_matrix(k->store, summary, &k->outcome, &e) < 0)
		keep(k, &e);
	return 0;
}

static int on_paired(struct sb_sink *sink, const json_t *paired, struct sb_error *err)
{
	struct store_sink *k = (struct store_sink *)sink;
	struct sb_error e = {0};
	(void)err;
	if (sb_store_record_paired(k->store, paired, &k->outcome, &e) < 0)
		keep(k, &e);
	return 0;
}

static void sink_close(struct sb_sink *sink)
{
	struct store_sink *k = (struct store_sink *)sink;
	sb_store_close(k->store);
	free(k);
}

int sb_store_sink_new(const char *location, struct sb_sink **out, struct sb_error *err)
{
	*out = NULL;
	struct store_sink *k = calloc(1, sizeof(*k));
	if (!k)
		return sb_error_set(err, ENOMEM, "out of memory");
	int rc = sb_store_open(location, &k->store, err);
	if (rc < 0) {
		free(k);
		return rc;
	}
	k->base = (struct sb_sink){.name = "store", .on_report = on_report, .on_matrix = on_matrix,
				   .on_paired = on_paired, .close = sink_close};
	*out = &k->base;
	return 0;
}

int sb_store_sink_status(const struct sb_sink *sink, struct sb_store_outcome *outcome, const char **where,
			 struct sb_error *err)
{
	const struct store_sink *k = (const struct store_sink *)sink;
	if (outcome)
		*outcome = k->outcome;
	if (where)
		*where = sb_store_where(k->store);
	if (!k->failed)
		return 0;
	if (err)
		*err = k->first;
	return -(k->first.code ? k->first.code : EIO);
}
