/* The sampler thread (sampler.h). Locking: s->mu guards the list of watches, the label, the
 * series kept for finished boxes and the stop flag; each watch's lock is held while its box is
 * read, so unwatch can wait for a read under way without holding s->mu (the thread never holds
 * s->mu while it calls a driver). Order when both are taken: s->mu, then a watch's lock. */
#include "metrics/sampler.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "metrics/registry.h"

struct point {
	int64_t mono_ns;
	struct sb_reg_sample s;
};

struct series {
	char name[SB_REG_ID_LEN];
	struct point *pts;
	size_t n, cap;
	struct series *next; /* on the finished list */
};

struct watch {
	pthread_mutex_t lock; /* held while this box is read */
	const struct sb_driver *drv;
	struct sb_box *box;
	char name[SB_REG_ID_LEN];
	bool have_slot;
	uint32_t slot;
	bool readable;     /* the first read worked: the thread may read it */
	unsigned sweep;    /* the last sweep that read it */
	bool have_prev;
	int64_t prev_mono;
	uint64_t prev_cpu;
	struct sb_reg_sample last;
	struct series *series;
	size_t handed;     /* points of series already given to sb_sampler_box_series */
	struct watch *next;
};

struct sb_sampler {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool running, stop;
	int64_t interval_ns;
	bool keep_series;
	struct sb_reg *reg;
	char label[SB_REG_NAME_LEN];
	struct watch *list;
	struct series *finished;
	unsigned sweep, unnamed;
	char error[512];
	uint64_t sweeps, samples, errors;
};

static int64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void series_add(struct series *se, int64_t mono, const struct sb_reg_sample *smp)
{
	if (se->n == se->cap) {
		size_t cap = se->cap ? se->cap * 2 : 64;
		struct point *p = realloc(se->pts, cap * sizeof(*p));
		if (!p)
			return; /* a gap in a series is better than a failed run */
		se->pts = p;
		se->cap = cap;
	}
	se->pts[se->n++] = (struct point){mono, *smp};
}

static void series_free(struct series *se)
{
	if (se) {
		free(se->pts);
		free(se);
	}
}

/* One stats read of w's box into a sample: published, and appended to its series. Called with
 * w->lock held (or before w is on the list). Returns the stats op's result. */
static int sample_box(struct sb_sampler *s, struct watch *w)
{
	struct sb_box_stats st;
	struct sb_error e = {0};
	memset(&st, 0, sizeof(st));
	/* The registry carries RSS, not PSS: spare the driver the page-table walk PSS takes. */
	int rc = sb_drv_stats_ex(w->drv, w->box, SB_STATS_NO_PSS, &st, &e);
	int64_t mono = sb_now_ns();
	struct sb_reg_sample *smp = &w->last;
	smp->t_ns = realtime_ns();
	smp->count++;
	if (rc < 0) {
		/* Keep the last good numbers; say what failed. */
		smp->error = -rc;
		smp->cpu_percent = NAN;
	} else {
		smp->error = 0;
		/* CPU %: the CPU time used over the wall time passed since the previous read. None on
		 * the first read, and none when the counter went backwards (a reset warm box, a
		 * restarted cgroup): the next read has a new base. */
		if (w->have_prev && st.cpu_ns >= w->prev_cpu && mono > w->prev_mono)
			smp->cpu_percent = (double)(st.cpu_ns - w->prev_cpu) * 100.0 / (double)(mono - w->prev_mono);
		else
			smp->cpu_percent = NAN;
		w->have_prev = true;
		w->prev_cpu = st.cpu_ns;
		w->prev_mono = mono;
		smp->cpu_ns = st.cpu_ns;
		smp->mem_bytes = st.mem_bytes;
		smp->mem_limit_bytes = st.mem_limit_bytes;
		smp->rss_bytes = st.rss_bytes;
		smp->disk_read_bytes = st.io_read_bytes;
		smp->disk_write_bytes = st.io_write_bytes;
		smp->net_rx_bytes = st.net_rx_bytes;
		smp->net_tx_bytes = st.net_tx_bytes;
		smp->pids = st.pids;
	}
	if (w->have_slot)
		sb_reg_write(s->reg, w->slot, smp);
	if (w->series && rc == 0)
		series_add(w->series, mono, smp);
	return rc;
}

/* Wait on cv until the absolute CLOCK_MONOTONIC time t (the condvar uses that clock). */
static void wait_until(struct sb_sampler *s, int64_t t)
{
	struct timespec ts = {.tv_sec = t / 1000000000, .tv_nsec = t % 1000000000};
	pthread_cond_timedwait(&s->cv, &s->mu, &ts);
}

static void *sampler_main(void *arg)
{
	struct sb_sampler *s = arg;
	pthread_mutex_lock(&s->mu);
	int64_t next = sb_now_ns() + s->interval_ns;
	while (!s->stop) {
		wait_until(s, next);
		if (s->stop)
			break;
		int64_t now = sb_now_ns();
		if (now < next)
			continue; /* woken early (spurious) */
		/* Ticks stay on the grid; a sweep that overran skips the ticks it missed. */
		next += s->interval_ns;
		if (next <= now)
			next = now + s->interval_ns - (now - next) % s->interval_ns;
		unsigned sweep = ++s->sweep;
		s->sweeps++;
		/* Each box once per sweep; the list may change while a box is read (s->mu is released
		 * then), so look for the next unread one from the head each time. */
		for (;;) {
			struct watch *w = s->list;
			while (w && (w->sweep == sweep || !w->readable))
				w = w->next;
			if (!w || s->stop)
				break;
			w->sweep = sweep;
			pthread_mutex_lock(&w->lock);
			pthread_mutex_unlock(&s->mu);
			int rc = sample_box(s, w);
			pthread_mutex_unlock(&w->lock);
			pthread_mutex_lock(&s->mu);
			if (rc < 0)
				s->errors++;
			else
				s->samples++;
		}
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int sb_sampler_start(const struct sb_sampler_opts *o, struct sb_sampler **out, struct sb_error *err)
{
	if (!(o->interval_s > 0) || o->interval_s > 3600)
		return sb_error_set(err, EINVAL, "sample interval %g s: expected more than 0 and at most 3600",
				    o->interval_s);
	struct sb_sampler *s = calloc(1, sizeof(*s));
	if (!s)
		return sb_error_set(err, ENOMEM, "out of memory");
	s->interval_ns = (int64_t)(o->interval_s * 1e9);
	if (s->interval_ns < 1000000)
		s->interval_ns = 1000000;
	s->keep_series = o->keep_series;
	if (o->registry_path) {
		char msg[400];
		int rc = sb_reg_open(o->registry_path, true, o->registry_slots, &s->reg, msg, sizeof(msg));
		if (rc < 0) {
			free(s);
			return sb_error_set(err, -rc, "%s", msg);
		}
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	/* SIGINT/SIGTERM belong to the main thread, whose loops poll sb_interrupted(): the sampler
	 * thread blocks every signal (the mask is inherited at creation). */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&s->thread, NULL, sampler_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		sb_reg_close(s->reg);
		pthread_cond_destroy(&s->cv);
		pthread_mutex_destroy(&s->mu);
		free(s);
		return sb_error_set(err, rc, "cannot start the sampler thread: %s", strerror(rc));
	}
	s->running = true;
	*out = s;
	return 0;
}

void sb_sampler_set_label(struct sb_sampler *s, const char *label)
{
	pthread_mutex_lock(&s->mu);
	snprintf(s->label, sizeof(s->label), "%s", label ? label : "");
	pthread_mutex_unlock(&s->mu);
}

int sb_sampler_watch(struct sb_sampler *s, const struct sb_driver *drv, struct sb_box *box,
		     const char *name, struct sb_error *err)
{
	struct watch *w = calloc(1, sizeof(*w));
	if (!w)
		return sb_error_set(err, ENOMEM, "out of memory");
	pthread_mutex_init(&w->lock, NULL);
	w->drv = drv;
	w->box = box;
	w->last.cpu_percent = NAN;
	char label[SB_REG_NAME_LEN];
	pthread_mutex_lock(&s->mu);
	if (name)
		snprintf(w->name, sizeof(w->name), "%s", name);
	else
		snprintf(w->name, sizeof(w->name), "box-%u", ++s->unnamed);
	memcpy(label, s->label, sizeof(label));
	pthread_mutex_unlock(&s->mu);
	if (s->keep_series) {
		w->series = calloc(1, sizeof(*w->series));
		if (w->series)
			snprintf(w->series->name, sizeof(w->series->name), "%s", w->name);
	}
	if (s->reg) {
		char msg[400];
		int rc = sb_reg_claim(s->reg, w->name, label, drv->name, &w->slot, msg, sizeof(msg));
		if (rc < 0) {
			series_free(w->series);
			pthread_mutex_destroy(&w->lock);
			free(w);
			return sb_error_set(err, -rc, "%s", msg);
		}
		w->have_slot = true;
	}
	/* The first read, here on the caller's thread (see sampler.h). */
	w->readable = sample_box(s, w) == 0;
	pthread_mutex_lock(&s->mu);
	w->sweep = s->sweep; /* not again in a sweep under way */
	w->next = s->list;
	s->list = w;
	pthread_mutex_unlock(&s->mu);
	return 0;
}

void sb_sampler_unwatch(struct sb_sampler *s, struct sb_box *box)
{
	pthread_mutex_lock(&s->mu);
	struct watch **pp = &s->list, *w = NULL;
	for (; *pp; pp = &(*pp)->next) {
		if ((*pp)->box == box) {
			w = *pp;
			*pp = w->next;
			break;
		}
	}
	pthread_mutex_unlock(&s->mu);
	if (!w)
		return;
	/* A read of this box under way holds its lock: wait for it. No new one can start. */
	pthread_mutex_lock(&w->lock);
	pthread_mutex_unlock(&w->lock);
	pthread_mutex_destroy(&w->lock);
	if (w->have_slot)
		sb_reg_release(s->reg, w->slot);
	if (w->series) {
		pthread_mutex_lock(&s->mu);
		w->series->next = s->finished;
		s->finished = w->series;
		pthread_mutex_unlock(&s->mu);
	}
	free(w);
}

void sb_sampler_box_event(void *arg, const struct sb_driver *drv, struct sb_box *box, const char *name,
			  bool alive)
{
	struct sb_sampler *s = arg;
	if (!alive) {
		sb_sampler_unwatch(s, box);
		return;
	}
	struct sb_error e = {0};
	if (sb_sampler_watch(s, drv, box, name, &e) < 0) {
		pthread_mutex_lock(&s->mu);
		if (!s->error[0])
			snprintf(s->error, sizeof(s->error), "%s", e.msg);
		pthread_mutex_unlock(&s->mu);
	}
}

const char *sb_sampler_error(struct sb_sampler *s)
{
	return s->error;
}

void sb_sampler_stop(struct sb_sampler *s)
{
	if (!s)
		return;
	for (;;) {
		pthread_mutex_lock(&s->mu);
		struct sb_box *box = s->list ? s->list->box : NULL;
		pthread_mutex_unlock(&s->mu);
		if (!box)
			break;
		sb_sampler_unwatch(s, box);
	}
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	if (s->running)
		pthread_join(s->thread, NULL);
	sb_reg_close(s->reg);
	while (s->finished) {
		struct series *n = s->finished->next;
		series_free(s->finished);
		s->finished = n;
	}
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static json_t *num_or_null(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *series_json(const struct series *se, double interval_s)
{
	json_t *j = json_pack("{s:s, s:f}", "box", se->name, "interval_s", interval_s);
	static const char *const keys[] = {"t_s", "cpu_percent", "cpu_ns", "mem_bytes", "mem_limit_bytes",
					   "rss_bytes", "disk_read_bytes", "disk_write_bytes", "net_rx_bytes",
					   "net_tx_bytes", "pids"};
	enum { NKEYS = sizeof(keys) / sizeof(keys[0]) };
	json_t *col[NKEYS];
	for (size_t k = 0; k < NKEYS; k++) {
		col[k] = json_array();
		json_object_set_new(j, keys[k], col[k]);
	}
	for (size_t i = 0; i < se->n; i++) {
		const struct point *p = &se->pts[i];
		const struct sb_reg_sample *m = &p->s;
		double v[NKEYS] = {(double)(p->mono_ns - se->pts[0].mono_ns) / 1e9, 0, (double)m->cpu_ns,
				   (double)m->mem_bytes, (double)m->mem_limit_bytes, (double)m->rss_bytes,
				   (double)m->disk_read_bytes, (double)m->disk_write_bytes,
				   (double)m->net_rx_bytes, (double)m->net_tx_bytes, (double)m->pids};
		json_array_append_new(col[0], json_real(v[0]));
		json_array_append_new(col[1], num_or_null(m->cpu_percent));
		for (size_t k = 2; k < NKEYS; k++)
			json_array_append_new(col[k], json_integer((json_int_t)v[k]));
	}
	return j;
}

json_t *sb_sampler_series(struct sb_sampler *s, const char *name)
{
	json_t *j = NULL;
	double interval = (double)s->interval_ns / 1e9;
	pthread_mutex_lock(&s->mu);
	for (struct series *se = s->finished; se && !j; se = se->next)
		if (!strcmp(se->name, name))
			j = series_json(se, interval);
	for (struct watch *w = s->list; w && !j; w = w->next) {
		if (!w->series || strcmp(w->name, name))
			continue;
		pthread_mutex_lock(&w->lock); /* the thread appends under it */
		j = series_json(w->series, interval);
		pthread_mutex_unlock(&w->lock);
	}
	pthread_mutex_unlock(&s->mu);
	return j;
}

/* Append one point to the iteration series named base (or base@box when another box of this
 * iteration has base already). */
static void add_point(json_t *series, const char *base, const char *box, const char *unit, double t,
		      double v)
{
	char name[160];
	snprintf(name, sizeof(name), "%s", base);
	json_t *e = json_object_get(series, name);
	if (e && strcmp(json_string_value(json_object_get(e, "box")), box) != 0) {
		snprintf(name, sizeof(name), "%s@%s", base, box);
		e = json_object_get(series, name);
	}
	if (!e) {
		e = json_pack("{s:s, s:s, s:[]}", "unit", unit, "box", box, "points");
		json_object_set_new(series, name, e);
	}
	json_array_append_new(json_object_get(e, "points"), json_pack("[f, f]", t, v));
}

int sb_sampler_box_series(void *arg, struct sb_box *box, json_t *series)
{
	struct sb_sampler *s = arg;
	pthread_mutex_lock(&s->mu);
	struct watch *w = s->list;
	while (w && w->box != box)
		w = w->next;
	if (!w || !w->series) {
		pthread_mutex_unlock(&s->mu);
		return 0;
	}
	pthread_mutex_lock(&w->lock);
	const struct series *se = w->series;
	for (size_t i = w->handed; i < se->n; i++) {
		const struct point *p = &se->pts[i];
		const struct sb_reg_sample *m = &p->s;
		double t = (double)(p->mono_ns - se->pts[0].mono_ns) / 1e9;
		if (isfinite(m->cpu_percent))
			add_point(series, "live_cpu_percent", w->name, "%", t, m->cpu_percent);
		add_point(series, "live_mem_bytes", w->name, "bytes", t, (double)m->mem_bytes);
		add_point(series, "live_rss_bytes", w->name, "bytes", t, (double)m->rss_bytes);
		add_point(series, "live_disk_read_bytes", w->name, "bytes", t, (double)m->disk_read_bytes);
		add_point(series, "live_disk_write_bytes", w->name, "bytes", t, (double)m->disk_write_bytes);
		add_point(series, "live_net_rx_bytes", w->name, "bytes", t, (double)m->net_rx_bytes);
		add_point(series, "live_net_tx_bytes", w->name, "bytes", t, (double)m->net_tx_bytes);
		add_point(series, "live_pids", w->name, "count", t, (double)m->pids);
	}
	w->handed = se->n;
	pthread_mutex_unlock(&w->lock);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

void sb_sampler_counts(struct sb_sampler *s, struct sb_sampler_counts *out)
{
	pthread_mutex_lock(&s->mu);
	out->sweeps = s->sweeps;
	out->samples = s->samples;
	out->errors = s->errors;
	pthread_mutex_unlock(&s->mu);
	clockid_t cid;
	struct timespec ts;
	out->thread_cpu_ns = pthread_getcpuclockid(s->thread, &cid) == 0 && clock_gettime(cid, &ts) == 0
				     ? (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec : -1;
}
