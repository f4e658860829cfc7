/*
 * noop-milter.c: the C reference for tools/bench/mta/bench.sh, a libmilter filter that does
 * nothing but take part in the protocol exactly as vpim-milter does on a plain message.
 *
 *   noop-milter -p SOCKET      SOCKET in libmilter form: unix:/path or inet:PORT@127.0.0.1
 *
 * Build (bench.sh does it): cc -O2 -o noop-milter noop-milter.c -lmilter -pthread
 * (Debian: libmilter-dev).
 *
 * Fair comparison: the negotiation reply is the one vpim-milter sends (milter/filter.go, New
 * and negotiate), so the MTA sends both filters the same packets and waits for the same
 * replies:
 *   actions   ADDHDRS CHGHDRS CHGBODY ADDRCPT ADDRCPT_PAR DELRCPT QUARANTINE SETSYMLIST, as
 *             far as the MTA offers them
 *   protocol  NOCONNECT NOHELO NOUNKNOWN NODATA (stages not sent), NR_MAIL NR_HDR NR_BODY (no
 *             reply), HDR_LEADSPC; as far as the MTA offers them
 *   macros    MAIL: i {auth_authen} {client_addr}; RCPT, end of headers, end of message: i
 *             (milter/macros.go, Macros; the queue ID as "i", without braces, as go-milter
 *             names it; Postfix accepts both)
 * So the MTA sends MAIL (no reply), each RCPT (reply: continue), each header field (no
 * reply) and end of headers, where this filter, like vpim-milter's fast path for a message
 * that is not voice mail, accepts the message: the body is never sent. bench.sh checks the
 * negotiation replies of both filters byte for byte (BENCH_CHECK_NEG).
 *
 * What it does not do, and vpim-milter does: look at the recipients and header fields, log a
 * line per transaction, count metrics. It is the floor of what a libmilter filter costs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#define WANT_ACTIONS \
	(SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY | SMFIF_ADDRCPT | SMFIF_ADDRCPT_PAR | \
	 SMFIF_DELRCPT | SMFIF_QUARANTINE | SMFIF_SETSYMLIST)
#define WANT_PROTOCOL \
	(SMFIP_HDR_LEADSPC | SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NODATA | \
	 SMFIP_NR_MAIL | SMFIP_NR_HDR | SMFIP_NR_BODY)

static sfsistat
nm_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
	     unsigned long f3, unsigned long *pf0, unsigned long *pf1, unsigned long *pf2,
	     unsigned long *pf3)
{
	(void)f2;
	(void)f3;
	*pf0 = WANT_ACTIONS & f0;
	*pf1 = WANT_PROTOCOL & f1;
	*pf2 = 0;
	*pf3 = 0;
	if (smfi_setsymlist(ctx, SMFIM_ENVFROM, "i {auth_authen} {client_addr}") != MI_SUCCESS ||
	    smfi_setsymlist(ctx, SMFIM_ENVRCPT, "i") != MI_SUCCESS ||
	    smfi_setsymlist(ctx, SMFIM_EOH, "i") != MI_SUCCESS ||
	    smfi_setsymlist(ctx, SMFIM_EOM, "i") != MI_SUCCESS)
		return SMFIS_REJECT;
	return SMFIS_CONTINUE;
}

static sfsistat
nm_envfrom(SMFICTX *ctx, char **argv)
{
	(void)argv;
	/* vpim-milter reads the queue ID, the login and the client address here */
	(void)smfi_getsymval(ctx, "i");
	(void)smfi_getsymval(ctx, "{auth_authen}");
	(void)smfi_getsymval(ctx, "{client_addr}");
	return SMFIS_NOREPLY;
}

static sfsistat
nm_envrcpt(SMFICTX *ctx, char **argv)
{
	(void)ctx;
	(void)argv;
	return SMFIS_CONTINUE;
}

static sfsistat
nm_header(SMFICTX *ctx, char *name, char *value)
{
	(void)ctx;
	(void)name;
	(void)value;
	return SMFIS_NOREPLY;
}

static sfsistat
nm_eoh(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_ACCEPT;
}

static sfsistat
nm_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	(void)ctx;
	(void)chunk;
	(void)len;
	return SMFIS_NOREPLY;
}

static sfsistat
nm_eom(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_ACCEPT;
}

static sfsistat
nm_abort(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat
nm_close(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static struct smfiDesc desc = {
	"noop-milter",	/* filter name */
	SMFI_VERSION,	/* version code */
	WANT_ACTIONS,	/* flags; narrowed in nm_negotiate */
	NULL,		/* connect: not sent (NOCONNECT) */
	NULL,		/* helo: not sent (NOHELO) */
	nm_envfrom,	/* envelope sender */
	nm_envrcpt,	/* envelope recipient */
	nm_header,	/* header */
	nm_eoh,		/* end of header */
	nm_body,	/* body block */
	nm_eom,		/* end of message */
	nm_abort,	/* message aborted */
	nm_close,	/* connection cleanup */
	NULL,		/* unknown command: not sent (NOUNKNOWN) */
	NULL,		/* DATA: not sent (NODATA) */
	nm_negotiate,	/* option negotiation */
};

int
main(int argc, char **argv)
{
	const char *sock = NULL;
	int c;

	while ((c = getopt(argc, argv, "p:")) != -1) {
		switch (c) {
		case 'p':
			sock = optarg;
			break;
		default:
			fprintf(stderr, "usage: %s -p unix:/path|inet:PORT@HOST\n", argv[0]);
			return 2;
		}
	}
	if (sock == NULL) {
		fprintf(stderr, "usage: %s -p unix:/path|inet:PORT@HOST\n", argv[0]);
		return 2;
	}
	if (strncmp(sock, "unix:", 5) == 0 || strncmp(sock, "local:", 6) == 0)
		umask(0117); /* socket mode 0660; bench.sh gives it to the postfix group */
	if (smfi_setconn((char *)sock) == MI_FAILURE) {
		fprintf(stderr, "noop-milter: smfi_setconn %s failed\n", sock);
		return 1;
	}
	if (smfi_register(desc) == MI_FAILURE) {
		fprintf(stderr, "noop-milter: smfi_register failed\n");
		return 1;
	}
	/* remove a stale unix socket; create the socket now so bench.sh can wait for it */
	if (smfi_opensocket(1) == MI_FAILURE) {
		fprintf(stderr, "noop-milter: cannot open %s\n", sock);
		return 1;
	}
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
