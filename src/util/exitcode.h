#ifndef LLMLOAD_EXITCODE_H
#define LLMLOAD_EXITCODE_H
/* The process exit codes (docs/cli.md), the one contract between every
 * command and its caller:
 *   0 ok, 1 a check failed, 2 usage error, 3 the run could not be done,
 *   4 interrupted.
 * They live at the bottom layer because the gate and the sweep decide them
 * as well as the commands. */
enum { EXIT_OK = 0, EXIT_CHECK = 1, EXIT_USAGE = 2, EXIT_RUN = 3, EXIT_INTERRUPTED = 4 };

#endif
