#include <stdio.h>
#include "cli.h"
int cmd_run(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "llmload run: not yet implemented\n");
    return EXIT_RUN;
}
