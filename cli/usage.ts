/**
 * Help texts for `swan`, `swan whack` and `swan pluto`, in swan's own words.
 * Option names follow Libreswan's so existing scripts keep working; options
 * that are recognised but not yet implemented are listed separately so the
 * reader knows what to expect.
 */

/** `swan --help`. */
export const SWAN_USAGE = `usage: swan <command> [options]

commands:
  pluto [options]    run the IKE keying daemon (see: swan pluto --help)
  whack [options]    talk to a running daemon (see: swan whack --help)

  --help             show this text
  --version          show the version

A link to the swan executable named "pluto" or "whack" runs that command
directly, so "pluto --nofork" is the same as "swan pluto --nofork".
`;

/** `swan whack --help`. */
export const WHACK_USAGE = `usage: whack [global options] <one action>

Every option is a long option; "--opt value" and "--opt=value" both work,
optional values must be attached with "=" (--pfs=no), and any unambiguous
prefix of an option name is accepted.

global options:
  --ctlsocket <path>       control socket (default /run/pluto/pluto.ctl)
  --rundir <dir>           use <dir>/pluto.ctl (alias --ctlbase); the later of
                           --rundir and --ctlsocket wins
  --name <connection>      the connection an action applies to
  --label <text>           put <text> in front of whack's own error messages
  --asynchronous[=yes|no]  do not wait for the action to finish (--async, --bg)
  --utc                    accepted for compatibility; swan prints no local times
  --help, --version

status (always exit 0):
  --status                 everything pluto knows
  --briefstatus            counts of IKE and Child SAs
  --connectionstatus       connections (optionally only --name)
  --showstates             IKE and Child SAs (alias --statestatus)
  --trafficstatus          traffic per Child SA (optionally only --name)
  --globalstatus           counters (alias --globalstats)
  --shuntstatus            bare shunts
  --listpsks               which pre-shared keys are loaded (never the keys)

actions:
  --listen | --unlisten    start / stop listening for IKE traffic
  --rereadsecrets          reload the secrets file
  --name C --initiate [--remote-host <address>]
  --name C --terminate     delete C's SAs (alias --down)
  --name C --delete        delete C and its SAs
  --name C --route         install C's on-demand policy (alias --ondemand)
  --name C --unroute       remove it
  --name C --rekey-ike     rekey C's IKE SA
  --name C --rekey-child   rekey C's Child SA (alias --rekey-ipsec)
  --deletestate <serial>   delete one IKE or Child SA by its #serial
  [--name C] --debug <flags> | --no-debug <flags> | --debug-none | --debug-all
                           change debug logging (--debug help lists the flags)
  --shutdown [--leave-state]
                           stop pluto (--leave-state keeps kernel SAs)

adding a connection:
  --name C <left end> --to <right end> [connection options]

  end options (before --to: left, after --to: right; --host is required):
    --host <address|%any>  --id <id>  --subnet <selectors> (alias --client)
    --sourceip <ip> (alias --srcip)  --nexthop <ip>  --ikeport <port>
    --clientprotoport <proto/port>  --updown <command>  --cert <nickname>
    --ckaid <hex>  --ca <dn>  --sendcert <when>  --auth <method>
    --xauthserver  --xauthclient  --modecfgserver  --modecfgclient
    --addresspool <range>  --username <user>  ...

  connection options (anywhere, once each):
    --psk  --rsasig  --ecdsa  --auth-null     authentication (combinable)
    --ikev2 | --ikev1                         IKE version
    --ike <proposals>  --esp <proposals>      algorithms
    --tunnel | --transport  --encrypt | --authenticate
    --pfs[=yes|no]  --pfsgroup <group>  --esn[=yes|no|either]
    --ikelifetime <time>  --ipsec-lifetime <time>  --rekeymargin <time>
    --rekeyfuzz <percent>  --dontrekey  --keyingtries <n>
    --dpddelay <time>  --dpdtimeout <time>  --retransmit-timeout <time>
    --encapsulation[=yes|no|auto] (--forceencaps)  --nat-keepalive yes|no
    --ipv4 | --ipv6  --tunnelipv4 | --tunnelipv6
    --pass | --drop | --reject  --failnone | --failpass | --faildrop
    ...
  Each option becomes the ipsec.conf keyword of the same meaning and pluto
  checks the value, exactly as it does for a config file.

recognised but not supported by swan yet (whack refuses them):
  --list{all,pubkeys,certs,cacerts,crls,events} --checkpubkeys --rereadcerts
  --fetchcrls --rereadall --purgeocsp --clearstats --addresspoolstatus
  --briefconnectionstatus --fipsstatus --processstatus --ddns --crash
  --ddos-* --ike-socket-* --delete-ike --delete-child --down-ike --down-child
  --suspend --deleteid --deleteuser --global-redirect* --redirect-to (active)
  --oppo* --keyid --addkey --pubkeyrsa --impair --no-impair --xauthpass

exit status: 0 on success; otherwise the first failure code pluto reported
(20-99), 33 when whack itself found a problem, 1 for a malformed option.
`;

/** `swan pluto --help`. */
export const PLUTO_USAGE = `usage: pluto [options]

Runs the IKE keying daemon. Options are long options; "--opt value" and
"--opt=value" both work and optional values need "=".

process:
  --nofork                    stay in the foreground
  --rundir <dir>              pid file and control socket (default /run/pluto;
                              alias --ctlbase)
  --ctlsocket <path>          control socket (default <rundir>/pluto.ctl)
  --config <file>             ipsec.conf to take "config setup" from
  --dumpdir <dir>             where core dumps go (alias --coredir)

logging:
  --stderrlog                 log to standard error
  --logfile <file>            log to a file (an empty name means syslog)
  --log-no-time               no timestamps in the log
  --log-no-append             truncate the log file at start
  --logip[=yes|no]            show peer addresses in the log (--log-no-ip)
  --debug <flags>             debug logging; repeatable (see whack --debug help)
  --debug-none, --debug-all

network:
  --ikeport <port>            IKE port (default 500)
  --natikeport <port>         NAT-traversal port (default 4500)
  --listen <address>          listen on this address only
  --interface <name>          consider only this interface; repeatable
  --keep-alive <seconds>      NAT keepalive period (default 20)

IPsec and keys:
  --protostack <stack>        xfrm, pfkeyv2, userspace or none (default xfrm);
                              --use-xfrm / --use-netkey mean xfrm,
                              --use-bsdkame / --use-pfkeyv2 mean pfkeyv2
  --secretsfile <file>        default /etc/ipsec.secrets
  --ipsecdir <dir>            default /etc/ipsec.d
  --nssdir <dir>              default /var/lib/ipsec/nss
  --uniqueids[=yes|no]        a new IKE SA replaces older ones of the same peer
  --nhelpers <n>              crypto helpers; -1 means one per CPU less one
  --vendorid <text>           our Vendor ID
  --wireshark-keys <dir>      append every SA's keys to <dir>/ikev2_decryption_table and
                              <dir>/esp_sa (Wireshark's formats) to decrypt captures;
                              the files hold secrets: mode 0600, keep them safe

  --help, --version

Libreswan's other options (DNSSEC, OCSP, CRLs, DDoS tuning, seccomp,
redirects, NFLOG, leak detection, ...) are recognised and refused with
"not supported by swan yet".
`;

/** `whack --debug help`: the debug flag names pluto understands. */
export const DEBUG_HELP =
  `debug flags (several may be joined with "+" or ","; "no-<flag>" turns one off):
  routing base cpu-usage refcnt tmi updown crypt private add-prefix add-state
  whackwatch
aliases:
  base   routing and base
  all    routing, base, cpu-usage and refcnt
  tmi    all and tmi
  none   every flag off
"private" logs keys and secrets: never use it on a production system.
`;
