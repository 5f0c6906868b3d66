// The image manifest (out/images/<role>/manifest.json): what the image stage
// built, from what, and how to reach it (pinned host keys). One shape, one
// schema (image-manifest.schema.json, kept equal to these types by
// test/unit/schema-types.test.ts) and one reader: the build cache, `vrio
// inspect`, `vrio smoke`, the lab and the tests all load it through
// readImageManifest, so a reader never guesses at keys the builder does not write.
import { existsSync, readFileSync } from 'node:fs';
import { validateDocument, parseDocumentFile, type ParsedDocument } from '../../lib/document.js';
import { InputError } from '../../lib/errors.js';
import { dataPath } from '../../lib/paths.js';

/** The version of the format; a reader refuses any other (the image is rebuilt, never reinterpreted). */
export const IMAGE_MANIFEST_FORMAT = 'vrio-image-manifest/1';

export interface ImageManifest {
  format: typeof IMAGE_MANIFEST_FORMAT;
  role: string;
  kind: 'iohyp' | 'guest';
  /** Hash of every input that reaches the image's bytes: the build's cache key. */
  inputHash: string;
  sourceDateEpoch: number;
  builtBy: string;
  kernel: {
    release: string;
    hash: string;
    configSha256: string | null;
    bzImageSha256: string;
    inputs: { name: string; kind: string; ref: string; license?: string }[];
    patches: { name: string; sha256: string; origin: 'upstream-series' | 'overlay' | 'compat' | 'fixes' | 'port' | 'user' | 'test' }[];
    /** The .ko modules the image ships (names without .ko). */
    modules: string[];
  };
  image: {
    formats: ('iso' | 'initramfs' | 'tar')[];
    compression: 'gzip' | 'zstd' | 'none';
    volumeId: string;
    cmdline: string;
    overlays: string[];
    hostKeyMode: 'build' | 'first-boot';
  };
  packages: { name: string; version: string; arch: string; sha256: string; used: boolean }[];
  /** Shared library path in the image -> the package it came from. */
  libraries: Record<string, string>;
  helper: { path: string; compiler: string; sha256: string } | null;
  tools: Record<string, string>;
  /** "SHA256:..." fingerprints by key type; empty when the keys are made at first boot. */
  hostKeys: Record<string, string>;
  /** Whole public keys by key type, for a known_hosts line. */
  hostPublicKeys: Record<string, string>;
  authorizedKeys: string[];
  /** Every file written beside the manifest, by name. */
  outputs: Record<string, { sha256: string; size: number }>;
}

let schema: object | undefined;
export function imageManifestSchema(): object {
  return (schema ??= JSON.parse(readFileSync(dataPath('builder/image/image-manifest.schema.json'), 'utf8')) as object);
}

/** Schema-check a parsed manifest; InputError (exit 2) naming file, pointer and rule. */
function validated(doc: ParsedDocument): ImageManifest {
  const format = (doc.data as { format?: unknown } | null)?.format;
  // Checked first and alone: a manifest of another format would fail on every key, which says less than this.
  if (doc.data === null || typeof doc.data !== 'object' || format !== IMAGE_MANIFEST_FORMAT) {
    const pos = doc.locate('/format');
    throw new InputError([
      {
        file: doc.file,
        pointer: '/format',
        ...pos,
        rule: 'format-version',
        message: `${format === undefined ? 'no format field' : `format ${JSON.stringify(format)}`}: this vrio reads image manifests of format ${IMAGE_MANIFEST_FORMAT} only`,
        hint: 'rebuild the image with this vrio (`vrio build` or `vrio image`)',
      },
    ]);
  }
  return validateDocument<ImageManifest>(doc, imageManifestSchema());
}

/**
 * The manifest.json at `file`, checked against the schema. Missing file, bad
 * JSON, another format version or a schema violation: InputError (exit 2).
 */
export function readImageManifest(file: string): ImageManifest {
  if (!existsSync(file)) {
    throw new InputError([
      {
        file,
        pointer: '',
        rule: 'exists',
        message: 'image manifest missing: this does not look like a built image directory',
        hint: 'run `vrio build` (or `vrio image`) first',
      },
    ]);
  }
  return validated(parseDocumentFile(file));
}

/** Check a manifest the image stage is about to write (a mismatch is our bug, caught before it lands). */
export function checkImageManifest(m: ImageManifest, file: string): void {
  validated({ file, data: m, locate: () => undefined });
}
