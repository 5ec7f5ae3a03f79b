// Starts Swagger UI for /api/v1/docs (a file, not an inline script: the page's CSP allows only 'self').
(function () {
  "use strict";
  var el = document.getElementById("swagger-ui-container");
  var config = JSON.parse(el.getAttribute("data-config") || "{}");
  config.url = el.getAttribute("data-spec-url");
  config.dom_id = "#swagger-ui-container";
  window.ui = window.SwaggerUIBundle(config);
})();
