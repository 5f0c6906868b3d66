// Real OpenSSH sshd instances for the tests: the same module the benchmark's
// host fleet uses (bench/sshd.ts, product code so a package install's
// `vrio bench` needs nothing from test/). See there for the API.
export * from '../../bench/sshd.js';
