// The QEMU runner: one VM spec -> one QEMU process with its consoles followed,
// plus accelerator choice, firmware lookup, loopback ports and the boot timeline.
export * from './args.js';
export * from './accel.js';
export * from './console.js';
export * from './firmware.js';
export * from './ports.js';
export * from './timeline.js';
export * from './vm.js';
