/* report_times.c — wall time per stage group (see report_times.h). */
#include "report_times.h"

#include <stdio.h>
#include <string.h>

void report_times_compute(const report_pipeline *p, double figures_seconds, report_group_time times[REPORT_GROUPS])
{
    memset(times, 0, sizeof(report_group_time) * REPORT_GROUPS);
    for (int i = 0; i < p->count; i++) {
        const report_stage *s = &p->stages[i];
        report_group_time *t = &times[s->group >= 0 && s->group < REPORT_GROUPS ? s->group : 0];
        t->stages++;
        if (s->action == STAGE_RAN || s->action == STAGE_RESUMED) {
            t->ran++;
            t->ran_seconds += s->wall_seconds;
        } else if (s->action == STAGE_SKIPPED) {
            t->cached++;
            t->cached_seconds += s->wall_seconds;
        } else {
            t->other++;
        }
    }
    report_group_time *figures = &times[REPORT_GROUP_FIGURES];
    figures->stages = figures->ran = figures->in_process = 1;
    figures->ran_seconds = figures_seconds;
}

void report_time_line(const report_group_time *t, char *out, size_t size)
{
    if (!t->stages) {
        snprintf(out, size, "%s", "");
        return;
    }
    if (t->in_process) {
        snprintf(out, size, "%.1f s", t->ran_seconds);
        return;
    }
    size_t used = (size_t)snprintf(out, size, "%.1f s (%d of %d stages ran)", t->ran_seconds, t->ran, t->stages);
    if (t->cached && used < size)
        used += (size_t)snprintf(out + used, size - used, "; %d cached (%.1f s when they ran)", t->cached,
                                 t->cached_seconds);
    if (t->other && used < size)
        snprintf(out + used, size - used, "; %d failed or not run", t->other);
}
