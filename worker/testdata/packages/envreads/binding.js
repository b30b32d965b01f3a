// The raw binding that starts processes, as a stage that wants a child to
// inherit the environment unseen would reach for it.
const b = process.binding('spawn_sync');
console.log('binding', typeof b.spawn);
