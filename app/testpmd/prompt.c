/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The interactive prompt (-i), on DPDK's cmdline library: start [tx_first],
 * stop, show port stats all, help, quit. The main lcore reads commands while
 * worker lcores forward. End of input or SIGINT leaves like quit.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>

#include <cmdline.h>
#include <cmdline_parse.h>
#include <cmdline_parse_string.h>
#include <cmdline_socket.h>

#include "testpmd.h"

struct cmd_words {
	cmdline_fixed_string_t w0, w1, w2, w3;
};

static void cmd_start(void *res, struct cmdline *cl, void *data)
{
	(void)res;
	if (tp_fwd_start(data != NULL) == -EALREADY)
		cmdline_printf(cl, "Packet forwarding already started\n");
}

static void cmd_stop(void *res, struct cmdline *cl, void *data)
{
	(void)res;
	(void)data;
	if (tp_fwd_stop() == -EALREADY)
		cmdline_printf(cl, "Packet forwarding not started\n");
}

static void cmd_show_stats(void *res, struct cmdline *cl, void *data)
{
	(void)res;
	(void)cl;
	(void)data;
	tp_show_port_stats();
}

static void cmd_help(void *res, struct cmdline *cl, void *data)
{
	(void)res;
	(void)data;
	cmdline_printf(cl, "  start               start forwarding\n"
			   "  start tx_first      send one burst per stream, then forward\n"
			   "  stop                stop forwarding, print the forward statistics\n"
			   "  show port stats all NIC statistics of every port\n"
			   "  quit                stop and leave\n");
}

static void cmd_quit(void *res, struct cmdline *cl, void *data)
{
	(void)res;
	(void)data;
	cmdline_quit(cl); /* tp_prompt() stops forwarding once the prompt returns */
}

#define WORD(field, s) TOKEN_STRING_INITIALIZER(struct cmd_words, field, s)

static cmdline_parse_token_string_t t_start = WORD(w0, "start");
static cmdline_parse_token_string_t t_tx_first = WORD(w1, "tx_first");
static cmdline_parse_token_string_t t_stop = WORD(w0, "stop");
static cmdline_parse_token_string_t t_show = WORD(w0, "show");
static cmdline_parse_token_string_t t_port = WORD(w1, "port");
static cmdline_parse_token_string_t t_stats = WORD(w2, "stats");
static cmdline_parse_token_string_t t_all = WORD(w3, "all");
static cmdline_parse_token_string_t t_help = WORD(w0, "help");
static cmdline_parse_token_string_t t_quit = WORD(w0, "quit");

static cmdline_parse_inst_t c_start = {
	.f = cmd_start,
	.help_str = "start: start forwarding",
	.tokens = { (void *)&t_start, NULL },
};
static cmdline_parse_inst_t c_start_tx_first = {
	.f = cmd_start,
	.data = (void *)1,
	.help_str = "start tx_first: send one burst per stream, then forward",
	.tokens = { (void *)&t_start, (void *)&t_tx_first, NULL },
};
static cmdline_parse_inst_t c_stop = {
	.f = cmd_stop,
	.help_str = "stop: stop forwarding and print the forward statistics",
	.tokens = { (void *)&t_stop, NULL },
};
static cmdline_parse_inst_t c_show_stats = {
	.f = cmd_show_stats,
	.help_str = "show port stats all: NIC statistics of every port",
	.tokens = { (void *)&t_show, (void *)&t_port, (void *)&t_stats, (void *)&t_all, NULL },
};
static cmdline_parse_inst_t c_help = {
	.f = cmd_help,
	.help_str = "help: the commands",
	.tokens = { (void *)&t_help, NULL },
};
static cmdline_parse_inst_t c_quit = {
	.f = cmd_quit,
	.help_str = "quit: stop forwarding and leave",
	.tokens = { (void *)&t_quit, NULL },
};

static cmdline_parse_ctx_t commands[] = {
	&c_start, &c_start_tx_first, &c_stop, &c_show_stats, &c_help, &c_quit, NULL,
};

int tp_prompt(void)
{
	struct cmdline *cl = cmdline_stdin_new(commands, "testpmd> ");

	if (cl == NULL) {
		fprintf(stderr, "-i: cannot set up the prompt on stdin\n");
		return -ENOMEM;
	}
	cmdline_interact(cl);
	/* End of input or a signal: leave as quit would. */
	(void)tp_fwd_stop();
	cmdline_stdin_exit(cl);
	printf("\nBye...\n");
	return 0;
}
