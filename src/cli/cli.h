/*
 * cli.h: the subcommands of the `wisp` command line. Each takes the argv that
 * follows its own name (argv[0] is the subcommand name) and returns the process
 * exit code.
 */
#ifndef WISP_CLI_H
#define WISP_CLI_H

int wisp_cli_run(int argc, char **argv);    /* cmd_run.c: `wisp run` */
int wisp_cli_up(int argc, char **argv);     /* cmd_up.c: `wisp up` */
int wisp_cli_new(int argc, char **argv);    /* cmd_new.c: `wisp new` */
int wisp_cli_build(int argc, char **argv);  /* cmd_build.c: `wisp build` */
int wisp_cli_serve(int argc, char **argv);  /* cmd_serve.c: `wisp serve` */
int wisp_cli_deploy(int argc, char **argv); /* cmd_deploy.c: the admin API's client */
int wisp_cli_apps(int argc, char **argv);
int wisp_cli_rollback(int argc, char **argv);
int wisp_cli_rm(int argc, char **argv);
int wisp_cli_logs(int argc, char **argv);
/* cmd_up.c: --pool-slots N, --pool-slot-size SIZE or --pool-memory SIZE
 * (`opt`, one of them) with value v into o; 0, or -1 after a message
 * "wisp CMD: ...". wisp up and wisp serve share them. */
struct wisp_server_options;
int wisp_cli_pool_option(const char *cmd, const char *opt, const char *v, struct wisp_server_options *o);

#endif
