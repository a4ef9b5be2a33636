export * from './ip-text';
export * from './proc-net-tcp';
export * from './socket-inodes';
export * from './socket-owners';
export * from './network-devices';
