/* The live-metrics sink (session.h): box events go to a sampler (src/metrics/sampler.h), which
 * publishes every box into the registry while it lives. */
#include <errno.h>
#include <stdlib.h>

#include "metrics/sampler.h"
#include "session/session.h"

struct live_sink {
	struct sb_sink base; /* first: the session hands us back this pointer */
	struct sb_sampler *sampler;
};

static void live_box_event(void *arg, const struct sb_driver *drv, struct sb_box *box, const char *name,
			   bool alive)
{
	struct live_sink *k = arg;
	sb_sampler_box_event(k->sampler, drv, box, name, alive);
}

static int live_box_series(struct sb_sink *sink, struct sb_box *box, json_t *series)
{
	return sb_sampler_box_series(((struct live_sink *)sink)->sampler, box, series);
}

static void live_close(struct sb_sink *sink)
{
	struct live_sink *k = (struct live_sink *)sink;
	sb_sampler_stop(k->sampler); /* unwatches what is left, removes the registry when unused */
	free(k);
}

struct sb_sink *sb_sink_live_new(const struct sb_sampler_opts *opts, struct sb_error *err)
{
	struct live_sink *k = calloc(1, sizeof(*k));
	if (!k) {
		sb_error_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	if (sb_sampler_start(opts, &k->sampler, err) < 0) {
		free(k);
		return NULL;
	}
	k->base.name = "live";
	k->base.box_event = live_box_event;
	k->base.box_series = opts->keep_series ? live_box_series : NULL;
	k->base.close = live_close;
	return &k->base;
}

void sb_sink_live_label(struct sb_sink *sink, const char *label)
{
	sb_sampler_set_label(((struct live_sink *)sink)->sampler, label);
}

const char *sb_sink_live_error(struct sb_sink *sink)
{
	return sb_sampler_error(((struct live_sink *)sink)->sampler);
}
