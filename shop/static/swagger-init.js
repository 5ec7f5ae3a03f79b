// Starts Swagger UI for /api/v1/docs from a file, so the page needs no inline script (docs/security.md).
window.addEventListener("load", function () {
  var container = document.getElementById("swagger-ui-container");
  var config = JSON.parse(container.dataset.config || "{}");
  config.url = container.dataset.specUrl;
  config.dom_id = "#swagger-ui-container";
  window.ui = SwaggerUIBundle(config);
});
