#include "session/session.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/host.h"
#include "core/util.h"

struct sb_session *sb_session_new(void)
{
	struct sb_session *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->host = sb_host_probe();
	sb_session_next_run(s);
	/* A caller that must find this run's sandboxes among others (a test on a busy host) names
	 * the first run: box names carry its first 8 characters. */
	const char *id = getenv("SANDBENCH_RUN_ID");
	if (id && strlen(id) == 32 && strspn(id, "0123456789abcdef") == 32)
		memcpy(s->run_id, id, 33);
	return s;
}

void sb_session_free(struct sb_session *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nsinks; i++)
		if (s->sinks[i]->close)
			s->sinks[i]->close(s->sinks[i]);
	json_decref(s->host);
	free(s);
}

int sb_session_add_sink(struct sb_session *s, struct sb_sink *sink)
{
	if (!sink)
		return -ENOMEM;
	if (s->nsinks == SB_SESSION_MAX_SINKS) {
		if (sink->close)
			sink->close(sink);
		return -ENOSPC;
	}
	s->sinks[s->nsinks++] = sink;
	return 0;
}

void sb_session_next_run(struct sb_session *s)
{
	sb_random_id(s->run_id);
	sb_wallclock_rfc3339(s->started_at, sizeof(s->started_at));
}

/* Fan one box event out to every sink that watches boxes. */
static void box_event_all(void *arg, const struct sb_driver *drv, struct sb_box *box, const char *name,
			  bool alive)
{
	struct sb_session *s = arg;
	for (size_t i = 0; i < s->nsinks; i++)
		if (s->sinks[i]->box_event)
			s->sinks[i]->box_event(s->sinks[i], drv, box, name, alive);
}

/* What the sinks that sample boxes saw of one, into an iteration's series (the first that has
 * something for it: one live sampler per session is the case there is). */
static int box_series_all(void *arg, struct sb_box *box, json_t *series)
{
	struct sb_session *s = arg;
	for (size_t i = 0; i < s->nsinks; i++) {
		int rc = s->sinks[i]->box_series ? s->sinks[i]->box_series(s->sinks[i], box, series) : 0;
		if (rc < 0)
			return rc;
	}
	return 0;
}

void sb_session_fill(struct sb_session *s, struct sb_run_opts *o)
{
	o->run_id = s->run_id;
	o->started_at = s->started_at;
	o->host = s->host;
	o->box_event = NULL;
	o->box_event_arg = NULL;
	o->box_series = NULL;
	for (size_t i = 0; i < s->nsinks; i++) {
		if (s->sinks[i]->box_event) {
			o->box_event = box_event_all;
			o->box_event_arg = s;
		}
		if (s->sinks[i]->box_series)
			o->box_series = box_series_all;
	}
	if (!o->box_event) /* box_series shares box_event's arg */
		o->box_series = NULL;
	else if (o->box_series)
		o->box_event_arg = s;
}

int sb_session_report(struct sb_session *s, const json_t *report, char *where, size_t where_len,
		      struct sb_error *err)
{
	int first = 0;
	if (where && where_len)
		where[0] = '\0';
	for (size_t i = 0; i < s->nsinks; i++) {
		struct sb_sink *k = s->sinks[i];
		struct sb_error e = {0};
		int rc = k->on_report ? k->on_report(k, report, where, where_len, &e) : 0;
		if (rc < 0 && first == 0) {
			first = rc;
			sb_error_set(err, -rc, "%s", e.msg);
		}
	}
	return first;
}

#define FAN_OUT(s, op, doc, err)                                                   \
	do {                                                                       \
		int first_ = 0;                                                    \
		for (size_t i_ = 0; i_ < (s)->nsinks; i_++) {                      \
			struct sb_sink *k_ = (s)->sinks[i_];                       \
			struct sb_error e_ = {0};                                  \
			int rc_ = k_->op ? k_->op(k_, (doc), &e_) : 0;             \
			if (rc_ < 0 && first_ == 0) {                              \
				first_ = rc_;                                      \
				sb_error_set((err), -rc_, "%s", e_.msg);           \
			}                                                          \
		}                                                                  \
		return first_;                                                     \
	} while (0)

int sb_session_matrix(struct sb_session *s, const json_t *summary, struct sb_error *err)
{
	FAN_OUT(s, on_matrix, summary, err);
}

int sb_session_paired(struct sb_session *s, const json_t *paired, struct sb_error *err)
{
	FAN_OUT(s, on_paired, paired, err);
}

int sb_session_finish(struct sb_session *s, struct sb_error *err)
{
	int first = 0;
	for (size_t i = 0; i < s->nsinks; i++) {
		struct sb_sink *k = s->sinks[i];
		struct sb_error e = {0};
		int rc = k->finish ? k->finish(k, &e) : 0;
		if (rc < 0 && first == 0) {
			first = rc;
			sb_error_set(err, -rc, "%s", e.msg);
		}
	}
	return first;
}
