/* `llmload mock`: flags in, simulator out. */
#include <stdio.h>

#include "cli.h"
#include "mock.h"

int cmd_mock(int argc, char **argv)
{
    struct mock_config cfg;
    char err[256];
    int r = mock_config_parse(&cfg, argc, argv, err, sizeof err);
    if ((r = cli_parse_result(&mock_cmd, r, err)) >= 0)
        return r;
    return (cfg.workers > 1 ? mock_workers_run(&cfg) : mock_server_run(&cfg)) == 0 ? EXIT_OK : EXIT_RUN;
}
