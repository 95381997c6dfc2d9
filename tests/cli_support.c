/* cli_support.c: see cli_support.h. */
#include "cli_support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "util/fsutil.h"

static char tmp[64];
static const char *exe, *data_dir;

int cli_setup(const char *prefix)
{
    exe = getenv("PEGR_EXE");
    data_dir = getenv("PEGR_TEST_DATA_DIR");
    if (!exe || !data_dir) {
        printf("PEGR_EXE and PEGR_TEST_DATA_DIR must be set (meson test sets them)\n");
        return 1;
    }
    snprintf(tmp, sizeof tmp, "/tmp/%s-XXXXXX", prefix);
    return mkdtemp(tmp) ? 0 : 1;
}

int cli_teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    return system(cmd) == 0 ? 0 : 1;
}

const char *cli_tmp(void) { return tmp; }
const char *cli_data_dir(void) { return data_dir; }

int cli_run(char **output, const char *fmt, ...)
{
    char cmd[4096], line[4600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    snprintf(line, sizeof line, "PEGR='%s' T='%s' G='%s/golden'; (%s) > '%s/out.txt' 2>&1", exe, tmp,
             data_dir, cmd, tmp);
    int rc = system(line);
    /* Under tools/oclgrind-wrap.sh the commands' output goes to stderr too, where the wrapper
     * finds Oclgrind's reports of the pegr processes (each after the test's
     * test_expect_api_error line, when one is expected). */
    const char *echo = getenv("PEGR_TEST_ECHO_CHILD_OUTPUT");
    if (output || (echo && *echo)) {
        char path[128], *text = NULL;
        size_t len = 0;
        snprintf(path, sizeof path, "%s/out.txt", tmp);
        pegr_file_read_all(path, &text, &len, NULL);
        if (echo && *echo && text) fprintf(stderr, "%s", text);
        if (output) *output = text;
        else free(text);
    }
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

char *cli_read(const char *rel)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmp, rel);
    char *text = NULL;
    size_t len = 0;
    if (pegr_file_read_all(path, &text, &len, NULL) != PEGR_OK) fail_msg("cannot read %s", path);
    return text;
}
