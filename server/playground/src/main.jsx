// The Frontdesk playground: GraphiQL with subscriptions over
// graphql-transport-ws, the headers editor, the documentation explorer and
// one tab per guide in docs/ holding that guide's operations.
import './workers.js';
import 'graphiql/style.css';
import './page.css';

import { GraphiQL } from 'graphiql';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

import { fetcher } from './fetcher.js';
import tabs from 'playground-tabs'; // written by build.mjs from docs/

createRoot(document.getElementById('graphiql')).render(
  <StrictMode>
    <GraphiQL
      fetcher={fetcher}
      defaultTabs={tabs}
      defaultEditorToolsVisibility="headers"
      isHeadersEditorEnabled
      shouldPersistHeaders={false}
    />
  </StrictMode>,
);
