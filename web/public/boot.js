// The first script index.html runs (plain JavaScript, not bundled: Vite would fold a second module
// entry into the app's bundle, and the point is to run before that bundle is fetched and
// evaluated). On the portal's pages it asks for the miner's risk view, and on a loan's page for
// the loan, as soon as /auth/me answers; main.tsx puts the answers into its query cache, so the
// page's first render has its data (bench:web portal_loan_ms: without it the reads began only
// after the app's 160 KB script had been evaluated, ~500 ms into the load on the bench's machine).
// The same requests the app would make, with the same session cookie; nothing else.
(function () {
  'use strict';
  var loanPage = /^\/portal\/loans\/([^/]+)$/.exec(location.pathname);
  if (loanPage === null && location.pathname !== '/portal') return;
  function json(url) {
    return fetch(url, { headers: { accept: 'application/json' } }).then(function (response) { return response.ok ? response.json() : undefined; });
  }
  // Not the preloaded /auth/me (that answer is the app's): a request of its own.
  var borrower = json('/api/v1/auth/me').then(function (me) { return me && me.user && me.user.borrowerId ? me.user.borrowerId : undefined; }, function () { return undefined; });
  function answer(key, url) {
    return borrower.then(function (ref) {
      if (ref === undefined) return undefined;
      return json(url(ref)).then(function (body) { return { key: key === null ? ref : key, body: body }; });
    }).catch(function () { return undefined; });
  }
  globalThis.zalogBoot = {
    risk: answer(null, function (ref) { return '/api/v1/borrowers/' + encodeURIComponent(ref) + '/risk'; }),
    loan: loanPage === null ? undefined : answer(decodeURIComponent(loanPage[1]), function () { return '/api/v1/loans/' + loanPage[1]; }),
  };
})();
