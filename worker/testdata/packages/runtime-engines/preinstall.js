// Refuses an old node the way prisma's preinstall does: exit 1 below 20.
const major = Number(process.versions.node.split('.')[0]);
if (major < 20) {
  console.error(`runtime-engines requires node >=20, found ${process.version}`);
  process.exit(1);
}
