/*
 * vrio-iohyp: drive the vRIO back end's /dev/iohyp control device.
 *
 * Our own implementation of what the upstream operator tool does (create a
 * block or net device for a guest, remove one, sanity check), written from the
 * ABI description in the project docs. Every value is validated before any
 * request is built; errors go to stderr as "vrio-iohyp: <what>: <why>".
 *
 * Exit codes: 0 ok, 1 the ioctl failed, 2 usage or bad value,
 * 3 /dev/iohyp missing (back-end modules not loaded).
 *
 * Built static at image build time (musl-gcc, or gcc -static).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXIT_IOCTL 1
#define EXIT_USAGE 2
#define EXIT_NODEV 3

/* From <linux/fs.h>, spelled out so musl-gcc (no kernel headers) can build us. */
#ifndef BLKGETSIZE64
#define BLKGETSIZE64 _IOR(0x12, 114, size_t)
#endif

#define DEV_PATH "/dev/iohyp"
#define SYSFS_ROOT "/sys/class/vrio"

/* ---- the ABI (x86_64, LP64, natural alignment): 472 bytes ---------------- */

struct vrio_blk_cfg {
	char device_name[64];      /* the name the guest sees, e.g. "vdb" */
	uint64_t features;
	uint64_t capacity;         /* bytes */
	uint32_t blk_size;
	uint32_t seg_max;
	struct {
		uint16_t cylinders;
		uint8_t heads;
		uint8_t sectors;
	} geometry;
	uint8_t wce;
};

struct vrio_net_cfg {
	uint64_t features;
	uint8_t mac[6];
	uint16_t status;
};

struct req_create {
	char device_path[256];     /* backing block device, or macvtap name */
	uint64_t gsocket;
	uint64_t host_priv;
	uint8_t host_port;
	uint64_t guest_priv;
	uint8_t guest_port;
	union {
		struct vrio_blk_cfg blk;
		struct vrio_net_cfg net;
	} config;
};

struct req_remove {
	int32_t device_id;
	uint32_t device_uid;
};

struct req_cores {
	int32_t nr_iocores;
	int32_t iocores[32];
};

struct req_sdev {
	int32_t size, operation, flags, duration, udelay, nr_iov;
};

struct vrio_request {
	char device_name[32];      /* which back end: "blk", "net" */
	char interface_name[32];   /* IOhyp NIC toward the guest */
	uint8_t guest_mac[6];
	uint32_t guest_ip;         /* network byte order */
	uint32_t cmd;
	union {
		struct req_create create;
		struct req_remove remove;
		struct req_cores poll;
		struct req_cores iocore;
		struct req_sdev sdev;
	} x;
};

/* A change here must be a deliberate ABI change: the build fails otherwise. */
_Static_assert(sizeof(struct vrio_request) == 472, "request size");
_Static_assert(offsetof(struct vrio_request, interface_name) == 32, "interface_name");
_Static_assert(offsetof(struct vrio_request, guest_mac) == 64, "guest_mac");
_Static_assert(offsetof(struct vrio_request, guest_ip) == 72, "guest_ip");
_Static_assert(offsetof(struct vrio_request, cmd) == 76, "cmd");
_Static_assert(offsetof(struct vrio_request, x) == 80, "x");
_Static_assert(offsetof(struct vrio_request, x.create.gsocket) == 336, "gsocket");
_Static_assert(offsetof(struct vrio_request, x.create.host_port) == 352, "host_port");
_Static_assert(offsetof(struct vrio_request, x.create.guest_priv) == 360, "guest_priv");
_Static_assert(offsetof(struct vrio_request, x.create.guest_port) == 368, "guest_port");
_Static_assert(offsetof(struct vrio_request, x.create.config) == 376, "config");
_Static_assert(offsetof(struct vrio_request, x.create.config.blk.features) == 440, "blk.features");
_Static_assert(offsetof(struct vrio_request, x.create.config.blk.capacity) == 448, "blk.capacity");
_Static_assert(offsetof(struct vrio_request, x.create.config.blk.blk_size) == 456, "blk.blk_size");
_Static_assert(offsetof(struct vrio_request, x.create.config.blk.seg_max) == 460, "blk.seg_max");
_Static_assert(offsetof(struct vrio_request, x.create.config.blk.geometry) == 464, "blk.geometry");
_Static_assert(offsetof(struct vrio_request, x.create.config.blk.wce) == 468, "blk.wce");
_Static_assert(offsetof(struct vrio_request, x.create.config.net.mac) == 384, "net.mac");
_Static_assert(offsetof(struct vrio_request, x.create.config.net.status) == 390, "net.status");
_Static_assert(offsetof(struct vrio_request, x.remove.device_uid) == 84, "remove.device_uid");

/* _IOWR('g', n, int) */
#define IOHYP_IOC(n) ((unsigned long)((3u << 30) | (sizeof(int) << 16) | ('g' << 8) | (n)))
#define IOC_CREATE IOHYP_IOC(1)
#define IOC_REMOVE IOHYP_IOC(2)
#define IOC_SANITY IOHYP_IOC(7)

#define CMD_CREATE_BLK 1
#define CMD_CREATE_NET 2
#define CMD_REMOVE_DEV 3
#define CMD_SANITY_CHECK 8

/* Block features (include/linux/vrio/vrio_common.h bit numbers). Upstream's
 * tool sent 0x204 (SEG_MAX | WCE) and called 0x1000 "write cache"; bit 12 is
 * in fact VIRTIO_BLK_F_DEV_NAME: without it the front end ignores the name in
 * the request and calls the disk vrd<letter>. A name is always given here, so
 * DEV_NAME is always set: the guest sees the disk under the name asked for. */
#define BLK_FEATURE_SEG_MAX (1ull << 2)
#define BLK_FEATURE_WCE (1ull << 9) /* write-back: the guest sends flushes, the back end passes them on */
#define BLK_FEATURE_DEV_NAME (1ull << 12)
#define BLK_SEG_MAX_DEFAULT 13u
#define NET_FEATURES_DEFAULT 0x7BE1ull

/* ---- errors ------------------------------------------------------------- */

static void usage_line(FILE *f) {
	fputs("usage: vrio-iohyp create-blk --iface IF --guest-mac MAC --guest-ip IPV4 --backing PATH --name GUESTNAME\n"
	      "                             [--no-write-cache] [--seg-max N] [--capacity BYTES]\n"
	      "       vrio-iohyp create-net --iface IF --guest-mac MAC --guest-ip IPV4 --backing MACVTAP --mac VNICMAC [--features HEX]\n"
	      "       vrio-iohyp remove --iface IF --guest-mac MAC --guest-ip IPV4 --backing PATH_OR_NAME [--kind blk|net]\n"
	      "       vrio-iohyp remove --id N --uid U [--kind blk|net] [--iface IF --guest-mac MAC --guest-ip IPV4]\n"
	      "       vrio-iohyp sanity\n"
	      "       vrio-iohyp list [--json]\n"
	      "       vrio-iohyp dump-request <create-blk|create-net|remove> ARGS...   (print the request, do not send it)\n"
	      "exit codes: 0 ok, 1 ioctl failed, 2 usage/bad value, 3 /dev/iohyp missing\n",
	      f);
}

static _Noreturn void bad(const char *what, const char *why) {
	fprintf(stderr, "vrio-iohyp: %s: %s\n", what, why);
	exit(EXIT_USAGE);
}

/* ---- value parsing (each rejects anything it does not fully understand) -- */

static void parse_ifname(const char *s, char out[32]) {
	size_t n = strlen(s);
	if (n == 0 || n > 15) bad(s, "interface name must be 1-15 characters");
	for (size_t i = 0; i < n; i++)
		if (!(s[i] == '-' || s[i] == '_' || s[i] == '.' || (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z')))
			bad(s, "interface name may hold only letters, digits, '-', '_' and '.'");
	memset(out, 0, 32);
	memcpy(out, s, n);
}

static void parse_mac(const char *s, uint8_t out[6]) {
	unsigned v[6];
	char tail;
	if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
		bad(s, "not a MAC address (expected xx:xx:xx:xx:xx:xx)");
	for (int i = 0; i < 6; i++) {
		if (s[i * 3] == ' ' || s[i * 3 + 1] == ' ') bad(s, "not a MAC address (expected xx:xx:xx:xx:xx:xx)");
		out[i] = (uint8_t)v[i];
	}
	if (out[0] & 1) bad(s, "a multicast MAC address cannot name a device");
}

static uint32_t parse_ipv4(const char *s) {
	struct in_addr a;
	if (inet_pton(AF_INET, s, &a) != 1) bad(s, "not an IPv4 address");
	return a.s_addr; /* already network byte order */
}

static uint64_t parse_u64(const char *s, int base, const char *what, uint64_t min, uint64_t max) {
	char *end;
	if (!*s || *s == '-' || *s == '+') bad(s, what);
	errno = 0;
	unsigned long long v = strtoull(s, &end, base);
	if (errno || *end || v < min || v > max) bad(s, what);
	return v;
}

static void copy_bounded(const char *s, char *out, size_t cap, const char *what) {
	size_t n = strlen(s);
	if (n == 0 || n >= cap) {
		char why[96];
		snprintf(why, sizeof why, "%s must be 1-%zu bytes", what, cap - 1);
		bad(s, why);
	}
	memset(out, 0, cap);
	memcpy(out, s, n);
}

static void parse_guest_name(const char *s, char out[64]) {
	size_t n = strlen(s);
	if (n == 0 || n > 31) bad(s, "guest device name must be 1-31 characters");
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
			bad(s, "guest device name may hold only a-z and 0-9 (e.g. vdb)");
	memset(out, 0, 64);
	memcpy(out, s, n);
}

/* ---- options ------------------------------------------------------------ */

struct opts {
	const char *iface, *guest_mac, *guest_ip, *backing, *name, *mac, *features, *seg_max, *capacity, *id, *uid, *kind;
	int write_cache, json;
};

static void parse_opts(const char *verb, int argc, char **argv, struct opts *o) {
	memset(o, 0, sizeof *o);
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char **slot = NULL;
		if (!strcmp(a, "--write-cache")) { o->write_cache = 1; continue; }
		if (!strcmp(a, "--no-write-cache")) { o->write_cache = -1; continue; }
		if (!strcmp(a, "--json")) { o->json = 1; continue; }
		if (!strcmp(a, "--iface")) slot = &o->iface;
		else if (!strcmp(a, "--guest-mac")) slot = &o->guest_mac;
		else if (!strcmp(a, "--guest-ip")) slot = &o->guest_ip;
		else if (!strcmp(a, "--backing")) slot = &o->backing;
		else if (!strcmp(a, "--name")) slot = &o->name;
		else if (!strcmp(a, "--mac")) slot = &o->mac;
		else if (!strcmp(a, "--features")) slot = &o->features;
		else if (!strcmp(a, "--seg-max")) slot = &o->seg_max;
		else if (!strcmp(a, "--capacity")) slot = &o->capacity;
		else if (!strcmp(a, "--id")) slot = &o->id;
		else if (!strcmp(a, "--uid")) slot = &o->uid;
		else if (!strcmp(a, "--kind")) slot = &o->kind;
		else {
			fprintf(stderr, "vrio-iohyp: %s: unknown option '%s'\n", verb, a);
			usage_line(stderr);
			exit(EXIT_USAGE);
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "vrio-iohyp: %s: option '%s' needs a value\n", verb, a);
			exit(EXIT_USAGE);
		}
		if (*slot) {
			fprintf(stderr, "vrio-iohyp: %s: option '%s' given twice\n", verb, a);
			exit(EXIT_USAGE);
		}
		*slot = argv[++i];
	}
}

static void need(const char *verb, const char *opt, const char *val) {
	if (!val) {
		fprintf(stderr, "vrio-iohyp: %s: missing %s\n", verb, opt);
		exit(EXIT_USAGE);
	}
}

static void fill_header(const char *verb, const struct opts *o, struct vrio_request *r, const char *kind) {
	need(verb, "--iface", o->iface);
	need(verb, "--guest-mac", o->guest_mac);
	need(verb, "--guest-ip", o->guest_ip);
	memset(r->device_name, 0, sizeof r->device_name);
	memcpy(r->device_name, kind, strlen(kind));
	parse_ifname(o->iface, r->interface_name);
	parse_mac(o->guest_mac, r->guest_mac);
	r->guest_ip = parse_ipv4(o->guest_ip);
}

/* Size of a block device (BLKGETSIZE64) or regular file backing a guest disk. */
static uint64_t backing_size(const char *path) {
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "vrio-iohyp: %s: %s\n", path, strerror(errno));
		exit(EXIT_USAGE);
	}
	struct stat st;
	uint64_t size = 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) size = (uint64_t)st.st_size;
	else if (ioctl(fd, BLKGETSIZE64, &size) != 0) {
		fprintf(stderr, "vrio-iohyp: %s: cannot read its size (BLKGETSIZE64): %s\n", path, strerror(errno));
		close(fd);
		exit(EXIT_USAGE);
	}
	close(fd);
	if (size == 0) bad(path, "backing device is empty (size 0)");
	return size;
}

static void build_create_blk(const struct opts *o, struct vrio_request *r) {
	const char *verb = "create-blk";
	memset(r, 0, sizeof *r);
	fill_header(verb, o, r, "blk");
	need(verb, "--backing", o->backing);
	need(verb, "--name", o->name);
	if (o->features || o->mac || o->id || o->uid || o->kind) bad(verb, "only --[no-]write-cache, --seg-max and --capacity may follow the required options");
	r->cmd = CMD_CREATE_BLK;
	copy_bounded(o->backing, r->x.create.device_path, sizeof r->x.create.device_path, "backing path");
	if (o->backing[0] != '/') bad(o->backing, "backing must be an absolute path (e.g. /dev/ram1)");
	parse_guest_name(o->name, r->x.create.config.blk.device_name);
	/* Write-back (upstream's default) unless --no-write-cache. */
	int wce = o->write_cache >= 0;
	r->x.create.config.blk.features = BLK_FEATURE_SEG_MAX | BLK_FEATURE_DEV_NAME | (wce ? BLK_FEATURE_WCE : 0);
	r->x.create.config.blk.wce = (uint8_t)wce;
	r->x.create.config.blk.seg_max = o->seg_max ? (uint32_t)parse_u64(o->seg_max, 10, "seg-max must be an integer 1-1024", 1, 1024) : BLK_SEG_MAX_DEFAULT;
	r->x.create.config.blk.capacity = o->capacity ? parse_u64(o->capacity, 10, "capacity must be a positive number of bytes", 1, UINT64_MAX) : backing_size(o->backing);
}

static void build_create_net(const struct opts *o, struct vrio_request *r) {
	const char *verb = "create-net";
	memset(r, 0, sizeof *r);
	fill_header(verb, o, r, "net");
	need(verb, "--backing", o->backing);
	need(verb, "--mac", o->mac);
	if (o->name || o->seg_max || o->capacity || o->write_cache || o->id || o->uid || o->kind) bad(verb, "only --features may follow the required options");
	r->cmd = CMD_CREATE_NET;
	char ifn[32];
	parse_ifname(o->backing, ifn); /* a macvtap interface name; the back end opens /dev/<name> */
	memcpy(r->x.create.device_path, ifn, sizeof ifn);
	parse_mac(o->mac, r->x.create.config.net.mac);
	r->x.create.config.net.features = o->features ? parse_u64(o->features, 16, "features must be a hex number", 0, UINT64_MAX) : NET_FEATURES_DEFAULT;
}

static void build_remove(const struct opts *o, struct vrio_request *r) {
	const char *verb = "remove";
	memset(r, 0, sizeof *r);
	const char *kind = o->kind;
	if (kind && strcmp(kind, "blk") && strcmp(kind, "net")) bad(kind, "kind must be blk or net");
	if (o->name || o->seg_max || o->capacity || o->write_cache || o->mac || o->features) bad(verb, "unexpected create option");
	r->cmd = CMD_REMOVE_DEV;
	if (o->id || o->uid) {
		if (o->backing) bad(verb, "give either --backing or --id/--uid, not both");
		need(verb, "--id", o->id);
		need(verb, "--uid", o->uid);
		if (o->iface || o->guest_mac || o->guest_ip) fill_header(verb, o, r, kind ? kind : "blk");
		else {
			memcpy(r->device_name, kind ? kind : "blk", strlen(kind ? kind : "blk"));
		}
		r->x.remove.device_id = (int32_t)parse_u64(o->id, 10, "id must be an integer 0-2147483647", 0, INT32_MAX);
		r->x.remove.device_uid = (uint32_t)parse_u64(o->uid, 10, "uid must be an integer 0-4294967295", 0, UINT32_MAX);
		return;
	}
	need(verb, "--backing", o->backing);
	/* A path names a block backing device, a bare name a macvtap. */
	if (!kind) kind = o->backing[0] == '/' ? "blk" : "net";
	fill_header(verb, o, r, kind);
	/* Only device_path is set: remove.device_id would overlap it in the union. */
	copy_bounded(o->backing, r->x.create.device_path, sizeof r->x.create.device_path, "backing");
}

/* ---- talking to the device ---------------------------------------------- */

static int open_dev(void) {
	int fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT || e == ENODEV || e == ENXIO) {
			fprintf(stderr, "vrio-iohyp: %s: %s (load the back-end modules: vrio_eth, vrio_gen, vrio_hblk/vrio_hnet)\n", DEV_PATH, strerror(e));
			exit(EXIT_NODEV);
		}
		fprintf(stderr, "vrio-iohyp: %s: %s\n", DEV_PATH, strerror(e));
		exit(EXIT_IOCTL);
	}
	return fd;
}

static int send_req(unsigned long req, const char *what, struct vrio_request *r) {
	int fd = open_dev();
	long rc = ioctl(fd, req, r);
	int e = errno;
	close(fd);
	if (rc < 0) {
		fprintf(stderr, "vrio-iohyp: %s ioctl: %s (errno %d)\n", what, strerror(e), e);
		return EXIT_IOCTL;
	}
	return 0;
}

static void dump(const struct vrio_request *r) {
	const uint8_t *b = (const uint8_t *)r;
	for (size_t i = 0; i < sizeof *r; i++) printf("%02x%s", b[i], (i % 16 == 15 || i + 1 == sizeof *r) ? "\n" : "");
}

static void fmt_mac(const uint8_t m[6], char out[18]) {
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* ---- list: /sys/class/vrio/{blk,net}/{bdev,ndev}N -------------------------- */

static void json_str(const char *s) {
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') printf("\\%c", c);
		else if (c < 0x20) printf("\\u%04x", c);
		else putchar(c);
	}
	putchar('"');
}

/*
 * Each stats file is a header line of names and a value line, both padded to
 * fixed columns. Values are cut at the columns where the header names start
 * (a value may be empty, so splitting on blanks would misalign).
 */
static int show_stats(const char *kind, const char *name, const char *path, int json, int *first) {
	FILE *f = fopen(path, "r");
	if (!f) return 0;
	char head[2048] = {0}, vals[2048] = {0};
	if (!fgets(head, sizeof head, f) || !fgets(vals, sizeof vals, f)) {
		fclose(f);
		return 0;
	}
	fclose(f);
	head[strcspn(head, "\n")] = 0;
	vals[strcspn(vals, "\n")] = 0;
	size_t starts[32], nf = 0, hl = strlen(head), vl = strlen(vals);
	for (size_t i = 0; i < hl && nf < 32; i++)
		if (head[i] != ' ' && (i == 0 || head[i - 1] == ' ')) starts[nf++] = i;
	if (json) printf("%s{\"kind\":\"%s\",\"name\":", *first ? "" : ",", kind), json_str(name), printf(",\"fields\":{");
	else printf("%s %s\n", kind, name);
	*first = 0;
	for (size_t k = 0; k < nf; k++) {
		size_t hs = starts[k], he = hs;
		while (he < hl && head[he] != ' ') he++;
		size_t vs = starts[k], ve = k + 1 < nf ? starts[k + 1] : vl;
		if (vs > vl) vs = vl;
		if (ve > vl) ve = vl;
		char key[128] = {0}, val[512] = {0};
		snprintf(key, sizeof key, "%.*s", (int)(he - hs), head + hs);
		while (vs < ve && vals[vs] == ' ') vs++;
		while (ve > vs && vals[ve - 1] == ' ') ve--;
		snprintf(val, sizeof val, "%.*s", (int)(ve - vs), vals + vs);
		if (json) {
			if (k) putchar(',');
			json_str(key), putchar(':'), json_str(val);
		} else printf("  %-22s %s\n", key, val);
	}
	if (json) printf("}}");
	return 1;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int do_list(int json) {
	static const char *kinds[] = {"blk", "net"};
	static const char *prefixes[] = {"bdev", "ndev"};
	int first = 1, any_class = 0;
	if (json) printf("[");
	for (int k = 0; k < 2; k++) {
		char dir[256];
		snprintf(dir, sizeof dir, SYSFS_ROOT "/%s", kinds[k]);
		DIR *d = opendir(dir);
		if (!d) continue;
		any_class = 1;
		char *names[256];
		int n = 0;
		struct dirent *de;
		while ((de = readdir(d)) && n < 256)
			if (!strncmp(de->d_name, prefixes[k], 4) && de->d_name[4] >= '0' && de->d_name[4] <= '9') names[n++] = strdup(de->d_name);
		closedir(d);
		qsort(names, (size_t)n, sizeof names[0], cmp_str);
		for (int i = 0; i < n; i++) {
			char path[512];
			snprintf(path, sizeof path, "%s/%s", dir, names[i]);
			show_stats(kinds[k], names[i], path, json, &first);
			free(names[i]);
		}
	}
	if (json) printf("]\n");
	if (!any_class) {
		if (access(SYSFS_ROOT, F_OK) != 0) {
			fprintf(stderr, "vrio-iohyp: %s: %s (load the back-end modules)\n", SYSFS_ROOT, strerror(errno));
			return EXIT_NODEV;
		}
	} else if (first && !json) printf("no vRIO devices\n");
	return 0;
}

/* ---- abi: our layout, in the same words as the header probe in the tests -- */

#define ABI(name, field) printf("%s %zu\n", name, offsetof(struct vrio_request, field))
static int do_abi(void) {
	printf("sizeof %zu\n", sizeof(struct vrio_request));
	ABI("device_name", device_name);
	ABI("interface_name", interface_name);
	ABI("guest_mac_address", guest_mac);
	ABI("guest_ip_address", guest_ip);
	ABI("cmd", cmd);
	ABI("x", x);
	ABI("create.device_path", x.create.device_path);
	ABI("create.gsocket", x.create.gsocket);
	ABI("create.host_priv", x.create.host_priv);
	ABI("create.host_port", x.create.host_port);
	ABI("create.guest_priv", x.create.guest_priv);
	ABI("create.guest_port", x.create.guest_port);
	ABI("create.config", x.create.config);
	ABI("blk.device_name", x.create.config.blk.device_name);
	ABI("blk.features", x.create.config.blk.features);
	ABI("blk.capacity", x.create.config.blk.capacity);
	ABI("blk.blk_size", x.create.config.blk.blk_size);
	ABI("blk.seg_max", x.create.config.blk.seg_max);
	ABI("blk.geometry", x.create.config.blk.geometry);
	ABI("blk.wce", x.create.config.blk.wce);
	ABI("net.features", x.create.config.net.features);
	ABI("net.mac", x.create.config.net.mac);
	ABI("net.status", x.create.config.net.status);
	ABI("remove.device_id", x.remove.device_id);
	ABI("remove.device_uid", x.remove.device_uid);
	ABI("poll.nr_iocores", x.poll.nr_iocores);
	ABI("poll.iocores", x.poll.iocores);
	ABI("sdev.nr_iov", x.sdev.nr_iov);
	printf("ioctl.create 0x%lx\nioctl.remove 0x%lx\nioctl.sanity 0x%lx\n", IOC_CREATE, IOC_REMOVE, IOC_SANITY);
	return 0;
}

/* ---- main --------------------------------------------------------------- */

static int build(const char *verb, int argc, char **argv, struct vrio_request *r) {
	struct opts o;
	parse_opts(verb, argc, argv, &o);
	if (o.json) bad(verb, "--json is only for list");
	if (!strcmp(verb, "create-blk")) build_create_blk(&o, r);
	else if (!strcmp(verb, "create-net")) build_create_net(&o, r);
	else if (!strcmp(verb, "remove")) build_remove(&o, r);
	else return 0;
	return 1;
}

int main(int argc, char **argv) {
	if (argc < 2) {
		usage_line(stderr);
		return EXIT_USAGE;
	}
	const char *verb = argv[1];
	struct vrio_request r;
	if (!strcmp(verb, "-h") || !strcmp(verb, "--help") || !strcmp(verb, "help")) {
		usage_line(stdout);
		return 0;
	}
	if (!strcmp(verb, "abi")) return do_abi(); /* for the ABI tests: our struct layout */
	if (!strcmp(verb, "dump-request")) {
		if (argc < 3 || !build(argv[2], argc - 3, argv + 3, &r)) bad("dump-request", "needs create-blk, create-net or remove and its arguments");
		dump(&r);
		return 0;
	}
	if (!strcmp(verb, "create-blk") || !strcmp(verb, "create-net")) {
		build(verb, argc - 2, argv + 2, &r);
		int rc = send_req(IOC_CREATE, "CREATE", &r);
		if (rc == 0) {
			char m[18];
			fmt_mac(r.guest_mac, m);
			if (r.cmd == CMD_CREATE_BLK)
				printf("created blk device %s for guest %s (%s) backed by %s, %" PRIu64 " bytes\n", r.x.create.config.blk.device_name, m, inet_ntoa(*(struct in_addr *)&r.guest_ip), r.x.create.device_path, (uint64_t)r.x.create.config.blk.capacity);
			else
				printf("created net device for guest %s (%s) on %s\n", m, inet_ntoa(*(struct in_addr *)&r.guest_ip), r.x.create.device_path);
		}
		return rc;
	}
	if (!strcmp(verb, "remove")) {
		build(verb, argc - 2, argv + 2, &r);
		int rc = send_req(IOC_REMOVE, "REMOVE", &r);
		if (rc == 0) printf("removed\n");
		return rc;
	}
	if (!strcmp(verb, "sanity")) {
		if (argc != 2) bad("sanity", "takes no arguments");
		memset(&r, 0, sizeof r);
		r.cmd = CMD_SANITY_CHECK;
		int rc = send_req(IOC_SANITY, "SANITY_CHECK", &r);
		if (rc == 0) printf("sanity check passed (see the kernel log for details)\n");
		return rc;
	}
	if (!strcmp(verb, "list")) {
		struct opts o;
		parse_opts(verb, argc - 2, argv + 2, &o);
		if (o.iface || o.guest_mac || o.guest_ip || o.backing || o.name || o.mac || o.features || o.seg_max || o.capacity || o.id || o.uid || o.kind || o.write_cache)
			bad("list", "only --json is allowed");
		return do_list(o.json);
	}
	fprintf(stderr, "vrio-iohyp: unknown command '%s'\n", verb);
	usage_line(stderr);
	return EXIT_USAGE;
}
