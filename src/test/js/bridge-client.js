// The stock Vert.x event-bus bridge client (on sockjs-client), as a browser app would use it, for
// EventBusBridgeTest: connects, registers one address with the access token in the headers, and prints one
// JSON line per event so the Java test can follow along.
//   node bridge-client.js <url> <address> <token> [sockjs transport, e.g. xhr-streaming]
'use strict';
const EventBus = require('@vertx/eventbus-bridge-client.js');

const [url, address, token, transport] = process.argv.slice(2);
const print = event => console.log(JSON.stringify(event));

const bus = new EventBus(url, transport ? { transports: [transport] } : {});
bus.onopen = () => {
  bus.registerHandler(address, { authorization: 'Bearer ' + token }, (error, message) => {
    print(error ? { error } : { body: message.body });
  });
  print({ open: bus.sockJSConn.transport });
};
bus.onerror = error => print({ error });
bus.onclose = () => {
  print({ closed: true });
  process.exit(0);
};
// The Java test ends the process; this only stops an orphan.
setTimeout(() => process.exit(3), 60000);
