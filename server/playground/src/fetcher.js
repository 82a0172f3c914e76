import { getOperationAST, parse } from 'graphql';
import { createClient } from 'graphql-ws';

const httpURL = new URL('/graphql', location.href).href;
const wsURL = httpURL.replace(/^http/, 'ws');

// One graphql-transport-ws client per set of headers: the headers editor's
// values (an Authorization header, say) go into connection_init, which is
// where Frontdesk reads WebSocket credentials.
const clients = new Map();

function wsClient(headers) {
  const key = JSON.stringify(headers);
  let client = clients.get(key);
  if (!client) {
    client = createClient({ url: wsURL, connectionParams: headers, lazy: true, retryAttempts: 2 });
    clients.set(key, client);
  }
  return client;
}

function isSubscription(params, opts) {
  let doc = opts?.documentAST;
  if (!doc) {
    try {
      doc = parse(params.query);
    } catch {
      return false; // let the server report the syntax error
    }
  }
  return getOperationAST(doc, params.operationName || undefined)?.operation === 'subscription';
}

// fetcher sends queries and mutations as JSON POSTs (the session cookie,
// if any, goes along: the playground is same-origin) and subscriptions
// over the WebSocket.
export async function fetcher(params, opts) {
  const headers = { ...(opts?.headers ?? {}) };
  if (isSubscription(params, opts)) {
    return wsClient(headers).iterate(params);
  }
  const res = await fetch(httpURL, {
    method: 'POST',
    credentials: 'same-origin',
    headers: {
      accept: 'application/graphql-response+json, application/json',
      'content-type': 'application/json',
      ...headers,
    },
    body: JSON.stringify(params),
  });
  return res.json();
}
