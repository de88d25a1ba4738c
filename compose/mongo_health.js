// The single-node replica set's healthcheck, run by mongosh inside the mongo container.
// First runs initiate the set and create the root and service users through MongoDB's
// localhost exception (allowed only while no user exists); healthy only once this node is
// PRIMARY and both users exist, so services never start against a secondary.
const fs = require('fs');
const secret = (name) => fs.readFileSync(`/run/bookstore-secrets/${name}`, 'utf8').trim();
const service = process.env.BOOKSTORE_SERVICE;
const rootPassword = secret('root-password');
const admin = new Mongo('mongodb://127.0.0.1:27017/?directConnection=true').getDB('admin');

let authenticated = false;
try {
  admin.auth('root', rootPassword);
  authenticated = true;
} catch (e) {
  // No users yet: the localhost exception applies until the first one is created.
}
const hello = admin.runCommand({ hello: 1 });
if (!hello.setName) {
  admin.runCommand({ replSetInitiate: { _id: 'rs0', members: [{ _id: 0, host: '127.0.0.1:27017' }] } });
  quit(1);
}
if (!hello.isWritablePrimary) quit(1);
if (!authenticated) {
  admin.createUser({ user: 'root', pwd: rootPassword, roles: ['root'] });
  admin.auth('root', rootPassword);
}
if (!admin.getUser(service)) {
  admin.createUser({
    user: service, pwd: secret('service-password'),
    roles: [{ role: 'readWrite', db: `bookstore_${service}` }],
  });
}
quit(0);
