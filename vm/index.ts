// The VM layer: everything that boots an image under QEMU. One VM spec -> one
// QEMU process with its consoles followed, plus accelerator choice, firmware
// lookup, loopback ports, L2 segment hubs, console sessions, the boot
// timeline and where a built image's boot files are. Smoke, the lab,
// `vrio run` and the tests boot through here only.
export * from './args.js';
export * from './accel.js';
export * from './console.js';
export * from './console-session.js';
export * from './firmware.js';
export * from './hub.js';
export * from './hub-process.js';
export * from './image.js';
export * from './ports.js';
export * from './timeline.js';
export * from './vm.js';
