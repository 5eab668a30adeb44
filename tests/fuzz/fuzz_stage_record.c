/* fuzz_stage_record.c — the report's stage records (OUT/stages/<name>.json,
 * report_stage.c): the input is the record a previous run left, and
 * stage_run reads it to decide whether to skip, resume or run an in-process
 * stage with one argument and no files. Whatever the record holds, the stage
 * must either be skipped or run — and a run must leave a fresh record. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "freqbias/error.h"
#include "report/report_stage.h"

static fb_status do_nothing(const report_stage *stage, void *context)
{
    (void)stage;
    (void)context;
    return FB_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static stage_runner runner;
    static report_stage stage;
    char stages[600], record[700];
    snprintf(stages, sizeof stages, "%s/stages", fuzz_dir());
    mkdir(stages, 0700);
    snprintf(record, sizeof record, "%s/fuzz.json", stages);
    FILE *f = fopen(record, "wb");
    fuzz_check(f != NULL && (size == 0 || fwrite(data, 1, size, f) == size) && fclose(f) == 0,
               "cannot write the record");
    memset(&runner, 0, sizeof runner);
    snprintf(runner.out_dir, sizeof runner.out_dir, "%s", fuzz_dir());
    runner.index = runner.total = 1;
    stage_init(&stage, "fuzz", "fuzzed stage record");
    stage_arg(&stage, "train");
    stage.function = do_nothing;
    fb_status status = stage_run(&stage, &runner);
    fuzz_check(status == FB_OK, "an in-process stage failed");
    fuzz_check(stage.action == STAGE_SKIPPED || stage.action == STAGE_RAN, "neither skipped nor ran");
    remove(record);
    return 0;
}
