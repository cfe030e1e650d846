/*
 * Launcher for {{ cookiecutter.app_name }}, installed as /usr/bin/{{ cookiecutter.app_name }}.
 *
 * Runs the bundled app with the system Python: <prefix>/lib/{{ cookiecutter.app_name }}/app (our
 * code) and .../app_packages (the wheels Briefcase installed) go first on sys.path, then the main
 * module runs as __main__. BRIEFCASE_MAIN_MODULE, when set, names another module to run (Briefcase
 * uses it for `briefcase run --test`). The prefix is found from /proc/self/exe, so the same binary
 * works from /usr/bin and from a package unpacked with `dpkg -x` into a scratch root.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The interpreter the bundled binary wheels were installed for (cp3XY tags): the exact minor
 * version, not whatever /usr/bin/python3 points to after a distribution upgrade. */
#define PYTHON "/usr/bin/python{{ cookiecutter.python_version }}"
#define APP_NAME "{{ cookiecutter.app_name }}"
#define MAIN_MODULE "{{ cookiecutter.module_name }}"

/* argv as Python sees it: ['-c', LIB_DIR, MODULE, user args...]; the two are popped off. */
static const char BOOT[] =
    "import runpy, sys\n"
    "lib = sys.argv.pop(1)\n"
    "module = sys.argv.pop(1)\n"
    "sys.path[0:0] = [lib + '/app', lib + '/app_packages']\n"
    "runpy.run_module(module, run_name='__main__', alter_sys=True)\n";

int main(int argc, char *argv[])
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n < 0) {
        fprintf(stderr, "%s: cannot find my own path (/proc/self/exe): %s\n", APP_NAME, strerror(errno));
        return 127;
    }
    exe[n] = '\0';

    /* <prefix>/bin/<app> -> <prefix>/lib/<app> */
    char *prefix = dirname(dirname(exe));
    char lib[PATH_MAX];
    if (snprintf(lib, sizeof lib, "%s/lib/%s", prefix, APP_NAME) >= (int)sizeof lib) {
        fprintf(stderr, "%s: install path too long\n", APP_NAME);
        return 127;
    }

    const char *module = getenv("BRIEFCASE_MAIN_MODULE");
    if (module == NULL || module[0] == '\0') {
        module = MAIN_MODULE;
    }

    /* -I: ignore PYTHON* variables and the user's site-packages, so nothing a user installed
     *     shadows the bundled packages. -B: never write .pyc into /usr/lib (the build step
     *     precompiles them; files written later would be left behind by dpkg --remove). */
    char **args = calloc((size_t)argc + 7, sizeof *args);
    if (args == NULL) {
        fprintf(stderr, "%s: out of memory\n", APP_NAME);
        return 127;
    }
    int i = 0;
    args[i++] = PYTHON;
    args[i++] = "-I";
    args[i++] = "-B";
    args[i++] = "-c";
    args[i++] = (char *)BOOT;
    args[i++] = lib;
    args[i++] = (char *)module;
    for (int j = 1; j < argc; j++) {
        args[i++] = argv[j];
    }
    args[i] = NULL;

    execv(PYTHON, args);
    fprintf(stderr, "%s: cannot run %s: %s (install the python3 package)\n", APP_NAME, PYTHON, strerror(errno));
    return 127;
}
