/* `llmload mock`: flags in, simulator out. */
#include <stdio.h>

#include "cli.h"
#include "mock.h"

int cmd_mock(int argc, char **argv)
{
    struct mock_config cfg;
    char err[256];
    int r = mock_config_parse(&cfg, argc, argv, err, sizeof err);
    if (r == 1) {
        mock_config_help(stdout);
        return EXIT_OK;
    }
    if (r < 0) {
        fprintf(stderr, "llmload mock: %s\n", err);
        return EXIT_USAGE;
    }
    return mock_server_run(&cfg) == 0 ? EXIT_OK : EXIT_RUN;
}
