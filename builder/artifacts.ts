// What one stage hands to the next. Kept in one small module so the kernel
import type { PatchOrigin } from './kernel/patchfile.js';
// stage, the image stage, smoke tests and the lab agree on the shapes.

/** Output of the kernel stage for one role (builder/kernel/). */
export interface KernelArtifacts {
  role: string;
  /** `make kernelrelease`, e.g. "3.10.0" or "6.1.0-vrio-test". */
  release: string;
  /** Content hash of every input of this kernel (tree, series, patches, config, flags). */
  hash: string;
  bzImage: string;
  systemMap: string;
  /** The final, verified .config. */
  config: string;
  /** A directory holding lib/modules/<release>/ (modules_install + depmod). */
  modulesRoot: string;
  /** Names of the .ko modules staged (without .ko), sorted. */
  modules: string[];
  /** The prepared (patched) source tree, read-only: headers for ABI probes. */
  sourceTree: string;
  /** The O= build directory (generated headers, Module.symvers). */
  buildDir: string;
  /** Inputs for manifest.json / SBOM. */
  inputs: { name: string; kind: string; ref: string; license?: string }[];
  patches: { name: string; sha256: string; origin: PatchOrigin }[];
}

/** Output of the image stage for one role (builder/image/). */
export interface ImageArtifacts {
  role: string;
  dir: string;
  iso?: string;
  kernel: string;
  initramfs?: string;
  tar?: string;
  manifest: string;
  sbom: string;
  /** SSH host key fingerprints baked into the image ("SHA256:..."), by key type. */
  hostKeys: Record<string, string>;
  /** The private key that logs into the image as root (a build-generated one when the manifest gives none). */
  clientKey?: string;
}
