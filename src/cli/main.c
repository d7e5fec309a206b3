/*
 * main.c: the `wisp` command: global options (--help, --version) and dispatch
 * to one function per subcommand (cli.h).
 *
 * Invariants: every subcommand receives the argv that follows the global
 * options, with its own name as argv[0], and its return value is the process
 * exit code. Exit codes here: 0 success, 2 usage error (unknown subcommand or
 * option, missing subcommand). Help goes to stdout when asked for and to
 * stderr when printed because of a usage error.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#ifndef WISP_VERSION
#error "WISP_VERSION must be defined by the build (CMake's project version)"
#endif

#define EXIT_USAGE 2

typedef struct subcommand {
  const char *name;
  const char *summary;
  int (*run)(int argc, char **argv);
} subcommand_t;

static const subcommand_t subcommands[] = {
    {"run", "run a WebAssembly module (a WASI command, or one exported function)", wisp_cli_run},
    {"up", "serve an application's HTTP routes (wisp.toml)", wisp_cli_up},
    {"new", "create a project from a template (wagi-c, http-c, http-js)", wisp_cli_new},
    {"build", "run the components' build commands (wisp.toml)", wisp_cli_build},
    {"serve", "the long-lived server: deployed apps from a store, admin API", wisp_cli_serve},
    {"deploy", "send an application to a running wisp serve", wisp_cli_deploy},
    {"apps", "list the applications of a wisp serve (or one app's versions)", wisp_cli_apps},
    {"rollback", "make an earlier version of an application active", wisp_cli_rollback},
    {"rm", "delete an application from a wisp serve", wisp_cli_rm},
    {"logs", "an application's recent log lines (--follow to stream)", wisp_cli_logs},
};
#define NSUBCOMMANDS (sizeof subcommands / sizeof subcommands[0])

static void print_usage(FILE *out) {
  fprintf(out,
          "wisp %s: a WebAssembly function platform\n"
          "\n"
          "usage: wisp [--help | --version] <command> [<args>...]\n"
          "\n"
          "commands:\n",
          WISP_VERSION);
  for (size_t i = 0; i < NSUBCOMMANDS; i++)
    fprintf(out, "  %-9s %s\n", subcommands[i].name, subcommands[i].summary);
  fprintf(out,
          "  %-9s %s\n"
          "\n"
          "options:\n"
          "  -h, --help     print this help and exit\n"
          "  -V, --version  print the version and exit\n"
          "\n"
          "`wisp help <command>` or `wisp <command> --help` describes one command.\n",
          "help", "print help for a command");
}

static const subcommand_t *find_subcommand(const char *name) {
  for (size_t i = 0; i < NSUBCOMMANDS; i++)
    if (strcmp(subcommands[i].name, name) == 0) return &subcommands[i];
  return NULL;
}

static int unknown_subcommand(const char *name) {
  fprintf(stderr, "wisp: '%s' is not a wisp command; commands are:", name);
  for (size_t i = 0; i < NSUBCOMMANDS; i++) fprintf(stderr, " %s", subcommands[i].name);
  fprintf(stderr, " help\nRun 'wisp --help' for usage.\n");
  return EXIT_USAGE;
}

/* `wisp help [<command>]`: argv[0] is "help". */
static int cmd_help(int argc, char **argv) {
  if (argc < 2) {
    print_usage(stdout);
    return 0;
  }
  if (argc > 2) {
    fprintf(stderr, "wisp help: expected one command name, got %d arguments\n", argc - 1);
    return EXIT_USAGE;
  }
  if (strcmp(argv[1], "help") == 0) {
    puts("usage: wisp help [<command>]\n\nPrints help for <command>, or the list of commands.");
    return 0;
  }
  const subcommand_t *sub = find_subcommand(argv[1]);
  if (!sub) return unknown_subcommand(argv[1]);
  char help_flag[] = "--help";
  char *sub_argv[] = {(char *)sub->name, help_flag, NULL};
  return sub->run(2, sub_argv);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    print_usage(stderr);
    return EXIT_USAGE;
  }
  const char *first = argv[1];
  if (strcmp(first, "--help") == 0 || strcmp(first, "-h") == 0) {
    print_usage(stdout);
    return 0;
  }
  if (strcmp(first, "--version") == 0 || strcmp(first, "-V") == 0) {
    printf("wisp %s\n", WISP_VERSION);
    return 0;
  }
  if (first[0] == '-') {
    fprintf(stderr, "wisp: unknown option '%s'\nRun 'wisp --help' for usage.\n", first);
    return EXIT_USAGE;
  }
  if (strcmp(first, "help") == 0) return cmd_help(argc - 1, argv + 1);
  const subcommand_t *sub = find_subcommand(first);
  if (!sub) return unknown_subcommand(first);
  return sub->run(argc - 1, argv + 1);
}
