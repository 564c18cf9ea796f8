#include <stdio.h>
#include "cli.h"
int cmd_mock(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "llmload mock: not yet implemented\n");
    return EXIT_RUN;
}
