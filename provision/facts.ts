// Facts: what a host looks like now, gathered in ONE round trip by a read-only
// POSIX sh script (busybox-compatible), parsed into a typed object. Operations
// compare facts with the inventory; nothing here changes the host.
import { provisionDefaults } from './defaults.js';
import { shScript } from '../lib/shell.js';

export interface ModuleFact {
  refcount: number;
  usedBy: string[];
  /** Readable parameters from /sys/module/NAME/parameters (only for modules asked about). */
  params: Record<string, string>;
}

export interface NicFact {
  mtu: number;
  mac: string;
  up: boolean;
  operstate: string;
  kind?: 'macvtap';
  lower?: string;
  rxQueues: number;
  txQueues: number;
  /** From `ethtool -l`: combined channels (undefined when the driver has none or ethtool is missing). */
  combined?: { current: number; max: number };
  ipv4: string[];
}

/** One /sys/class/vrio/<kind>/<file>: header line names, value line values. */
export interface VrioStat {
  file: string;
  fields: Record<string, string>;
}

export interface VrioBlkFact {
  file: string;
  backing: string;
  guestIp: string;
  guestDevice: string;
  capacity: number;
  bytesWritten: number;
  bytesRead: number;
  ioOps: number;
}
export interface VrioNetFact {
  file: string;
  backing: string;
  guestIp: string;
  bytesSent: number;
  bytesReceived: number;
  ioOps: number;
}

/** A path the inventory's files operation manages, as found on the host. */
export interface FileFact {
  type: 'file' | 'directory' | 'link' | 'other' | 'missing';
  /** Permission bits (0 when missing). */
  mode: number;
  /** Regular files: sha256 of the content (undefined when unreadable). */
  sha256?: string;
}

export interface Facts {
  hostname: string;
  kernel: string;
  memTotalKiB: number;
  memAvailableKiB: number;
  /** false when the kernel has no loadable-module support (/proc/modules absent). */
  modulesSupported: boolean;
  modules: Record<string, ModuleFact>;
  iohypDevice: boolean;
  helper: boolean;
  tools: Record<string, boolean>;
  nics: Record<string, NicFact>;
  blockDevices: string[];
  sysctls: Record<string, string>;
  vrio: { blk: VrioBlkFact[]; net: VrioNetFact[]; core: VrioStat[] };
  /** What apply recorded before its first change (restored by teardown). */
  saved?: Record<string, string>;
  /** The paths of the host's inventory files (only those asked about). */
  files?: Record<string, FileFact>;
}

export interface FactsQuery {
  /** Modules whose parameters to read. */
  modules: string[];
  /** NICs to ask ethtool about. */
  ethtool: string[];
  /** Paths to stat (and hash, for regular files): the host's inventory files. */
  files?: string[];
  /** Read the files only (plan/apply --only files): nothing else is looked at. */
  filesOnly?: boolean;
}

// The sha256 of the regular files among "$@", between @hashes and @end. Only
// those: sha256sum waits forever on a FIFO (for a writer) and reads /dev/zero
// forever; a link stays a link (never followed). Leaves "$@" changed.
const HASH_REGULAR = `echo "@hashes"
r=; for f; do [ -f "$f" ] && [ ! -h "$f" ] && r="$r$f
"; done
set -f; IFS='
'; set -- $r; unset IFS; set +f
[ $# -eq 0 ] || sha256sum -- "$@" 2>/dev/null; echo "@end"`;

// Read-only by construction (read, test, globs; ip addr show and ethtool -l as
// queries). Shell builtins instead of cat/head/tr: at 50+ hosts the forks on
// each host are most of the cost.
const SCRIPT = `
export LC_ALL=C PATH=/usr/sbin:/usr/bin:/sbin:/bin
mods=$1; eths=$2; helper=$3; state=$4; sysctls=$5; files=$6
rd() { v=; { read -r v < "$1"; } 2>/dev/null; }
rd /proc/sys/kernel/osrelease; echo "@kernel $v"
rd /proc/sys/kernel/hostname; echo "@hostname $v"
while read -r k v u; do case $k in MemTotal:|MemAvailable:) echo "@mem $k $v";; esac; done < /proc/meminfo
if [ -r /proc/modules ]; then
  echo "@modules-supported"
  while read -r name size refs users rest; do echo "@module $name $refs $users"; done < /proc/modules
fi
for m in $mods; do
  for f in /sys/module/$m/parameters/*; do
    [ -r "$f" ] || continue
    rd "$f"; echo "@param $m \${f##*/} $v"
  done
done
[ -c /dev/iohyp ] && echo "@iohyp"
[ -x "$helper" ] && echo "@helper"
for t in modprobe rmmod ethtool ip sysctl; do command -v $t >/dev/null 2>&1 && echo "@tool $t"; done
for d in /sys/class/net/*; do
  [ -e "$d/mtu" ] || continue
  n=\${d##*/}
  kind=-; [ -d "$d/macvtap" ] && kind=macvtap
  lower=-; for l in "$d"/lower_*; do [ -e "$l" ] && lower=\${l##*/lower_}; done
  rx=0; for q in "$d"/queues/rx-*; do [ -e "$q" ] && rx=$((rx+1)); done
  tx=0; for q in "$d"/queues/tx-*; do [ -e "$q" ] && tx=$((tx+1)); done
  rd "$d/mtu"; mtu=$v; rd "$d/address"; mac=$v; rd "$d/operstate"; oper=$v; rd "$d/flags"
  echo "@nic $n $mtu $mac $oper $v $kind $lower $rx $tx"
done
# Multi-line form: iproute2 and busybox ip both print it (busybox has no -o).
ip -4 addr show 2>/dev/null | while read -r a b rest; do
  case $a in [0-9]*:) ifn=\${b%:}; ifn=\${ifn%%@*};; inet) echo "@addr $ifn $b";; esac
done
for e in $eths; do
  [ -e "/sys/class/net/$e" ] || continue
  command -v ethtool >/dev/null 2>&1 || break
  ethtool -l "$e" 2>/dev/null | while read -r k v; do [ "$k" = "Combined:" ] && echo "@combined $e $v"; done
done
for b in /sys/block/*; do [ -e "$b" ] && echo "@block \${b##*/}"; done
# Integer sysctls cannot be read a byte at a time (the shell's read builtin): cat them.
for s in $sysctls; do f=\${s#*=}; [ -r "$f" ] && echo "@sysctl \${s%%=*} $(cat "$f")"; done
for f in /sys/class/vrio/blk/bdev* /sys/class/vrio/net/ndev* /sys/class/vrio/core/iocore*; do
  [ -f "$f" ] || continue
  echo "@vrio \${f#/sys/class/vrio/}"; cat "$f"; echo; echo "@end"
done
if [ -f "$state" ]; then echo "@saved"; cat "$state"; echo; echo "@end"; fi
# Inventory files, one path per line (the schema forbids control characters):
# ONE stat and ONE sha256sum for all of them (missing paths just print nothing).
if [ -n "$files" ]; then
  set -f; ifs=$IFS; IFS='
'; set -- $files; IFS=$ifs; set +f
  echo "@files"; stat -c '%a %F|%n' -- "$@" 2>/dev/null; echo "@end"
  ${HASH_REGULAR}
fi
echo "@done"
`;

// The files part alone, for --only files: a cold 50-host apply spent most of
// its time in two full fact scripts per host (modules, NICs, ethtool, sysctls).
const FILES_SCRIPT = `
export LC_ALL=C PATH=/usr/sbin:/usr/bin:/sbin:/bin
set -f; IFS='
'; set -- $1; unset IFS; set +f
if [ $# -gt 0 ]; then
  echo "@files"; stat -c '%a %F|%n' -- "$@" 2>/dev/null; echo "@end"
  ${HASH_REGULAR}
fi
echo "@done"
`;

/** The argv that gathers facts (run through the transport as one command). */
export function factsCommand(q: FactsQuery): string[] {
  if (q.filesOnly) return shScript(FILES_SCRIPT.trim(), [(q.files ?? []).join('\n')]);
  const d = provisionDefaults();
  return shScript(SCRIPT.trim(), [
    q.modules.join(' '),
    q.ethtool.join(' '),
    d.helper,
    d.stateFile,
    d.sysctls.map((s) => `${s}=/proc/sys/${s.replace(/\./g, '/')}`).join(' '),
    (q.files ?? []).join('\n'),
  ]);
}

const num = (s: string | undefined): number => (s === undefined || s === '' || Number.isNaN(Number(s)) ? 0 : Number(s));

export function parseVrioStat(file: string, text: string): VrioStat {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const names = (lines[0] ?? '').trim().split(/\s+/);
  const values = (lines[1] ?? '').trim().split(/\s+/);
  const fields: Record<string, string> = {};
  names.forEach((n, i) => {
    if (n) fields[n] = values[i] ?? '';
  });
  return { file, fields };
}

function emptyFacts(): Facts {
  return {
    hostname: '',
    kernel: '',
    memTotalKiB: 0,
    memAvailableKiB: 0,
    modulesSupported: false,
    modules: {},
    iohypDevice: false,
    helper: false,
    tools: {},
    nics: {},
    blockDevices: [],
    sysctls: {},
    vrio: { blk: [], net: [], core: [] },
  };
}

/** Tags whose lines up to '@end' are one record. */
const BLOCK_TAGS = new Set(['@files', '@hashes', '@vrio', '@saved']);

/** Facts from the output of factsCommand: one tagged line per fact, blocks up to '@end'. */
export function parseFacts(out: string): Facts {
  const f = emptyFacts();
  if (!/^@done$/m.test(out)) throw new Error('facts output is incomplete (no @done marker)');
  const lines = out.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const [tag, ...w] = lines[i].split(' ');
    if (!BLOCK_TAGS.has(tag)) {
      applyLine(f, tag, w);
      continue;
    }
    const body: string[] = [];
    while (++i < lines.length && lines[i] !== '@end') body.push(lines[i]);
    if (tag === '@files') applyFileModes(f, body);
    else if (tag === '@hashes') applyFileHashes(f, body);
    else if (tag === '@saved') applySaved(f, body);
    else applyVrioStat(f, w[0], body);
  }
  return f;
}

/** One single-line fact; unknown tags are ignored. */
function applyLine(f: Facts, tag: string, w: string[]): void {
  switch (tag) {
    case '@kernel':
      f.kernel = w.join(' ');
      break;
    case '@hostname':
      f.hostname = w.join(' ');
      break;
    case '@mem':
      if (w[0] === 'MemTotal:') f.memTotalKiB = num(w[1]);
      else f.memAvailableKiB = num(w[1]);
      break;
    case '@module':
      f.modules[w[0]] = { refcount: num(w[1]), usedBy: (w[2] ?? '-').split(',').filter((x) => x && x !== '-'), params: {} };
      break;
    case '@param': {
      const m = f.modules[w[0]];
      if (m) m.params[w[1]] = w.slice(2).join(' ');
      break;
    }
    case '@modules-supported':
      f.modulesSupported = true;
      break;
    case '@iohyp':
      f.iohypDevice = true;
      break;
    case '@helper':
      f.helper = true;
      break;
    case '@tool':
      f.tools[w[0]] = true;
      break;
    case '@nic':
      applyNic(f, w);
      break;
    case '@addr':
      f.nics[w[0]]?.ipv4.push(w[1]);
      break;
    case '@combined': {
      const n = f.nics[w[0]];
      if (!n) break;
      const v = num(w[1]);
      // ethtool -l prints "Pre-set maximums" first, then "Current hardware settings".
      if (!n.combined) n.combined = { max: v, current: v };
      else n.combined.current = v;
      break;
    }
    case '@block':
      f.blockDevices.push(w[0]);
      break;
    case '@sysctl':
      f.sysctls[w[0]] = w.slice(1).join(' ');
      break;
  }
}

/** "@nic name mtu mac operstate flags kind lower rxQueues txQueues". */
function applyNic(f: Facts, w: string[]): void {
  const [name, mtu, mac, oper, flags, kind, lower, rx, tx] = w;
  f.nics[name] = {
    mtu: num(mtu),
    mac: (mac ?? '').toLowerCase(),
    operstate: oper ?? 'unknown',
    up: (parseInt(flags ?? '0', 16) & 1) === 1,
    kind: kind === 'macvtap' ? 'macvtap' : undefined,
    lower: lower && lower !== '-' ? lower : undefined,
    rxQueues: num(rx),
    txQueues: num(tx),
    ipv4: [],
  };
}

/** '@files' block: "<mode> <type words>|<path>" per file. */
function applyFileModes(f: Facts, body: string[]): void {
  const files = (f.files ??= {});
  for (const l of body) {
    const m = /^([0-7]+) ([^|]*)\|(.*)$/.exec(l);
    if (!m) continue;
    const t = m[2];
    const type: FileFact['type'] = /^regular( empty)? file$/.test(t) ? 'file' : t === 'directory' ? 'directory' : t === 'symbolic link' ? 'link' : 'other';
    files[m[3]] = { type, mode: parseInt(m[1], 8) };
  }
}

/** '@hashes' block: "<sha256>  <path>", regular files only (HASH_REGULAR). */
function applyFileHashes(f: Facts, body: string[]): void {
  const files = (f.files ??= {});
  for (const l of body) {
    const m = /^([0-9a-f]{64}) [ *](.*)$/.exec(l);
    if (m && files[m[2]]?.type === 'file') files[m[2]].sha256 = m[1];
  }
}

/** '@saved' block: the settings a run recorded before changing them, "key=value" per line. */
function applySaved(f: Facts, body: string[]): void {
  f.saved = {};
  for (const l of body) {
    const eq = l.indexOf('=');
    if (eq > 0) f.saved[l.slice(0, eq)] = l.slice(eq + 1);
  }
}

/** '@vrio <file>' block: one /sys/class/vrio stat file, as a block or net device or the core's. */
function applyVrioStat(f: Facts, file: string, body: string[]): void {
  const stat = parseVrioStat(file, body.join('\n'));
  const x = stat.fields;
  if (file.startsWith('blk/'))
    f.vrio.blk.push({
      file,
      backing: x.Backend_Device_Path ?? '',
      guestIp: x.Guest_IP_Address ?? '',
      guestDevice: x.Guest_Device_Name ?? '',
      capacity: num(x.Capacity),
      bytesWritten: num(x.Bytes_Written),
      bytesRead: num(x.Bytes_Read),
      ioOps: num(x.IO_Operations),
    });
  else if (file.startsWith('net/'))
    f.vrio.net.push({
      file,
      backing: x.Backend_Device ?? '',
      guestIp: x.Guest_IP ?? '',
      bytesSent: num(x.Bytes_Sent),
      bytesReceived: num(x.Bytes_Received),
      ioOps: num(x.IO_Operations),
    });
  else f.vrio.core.push(stat);
}

/** The facts query a host's desired state needs. */
export function factsQueryFor(modules: string[], nics: string[], files: string[] = [], filesOnly = false): FactsQuery {
  return {
    modules: [...new Set(modules)],
    ethtool: [...new Set(nics)],
    ...(files.length ? { files: [...new Set(files)] } : {}),
    ...(filesOnly ? { filesOnly } : {}),
  };
}
