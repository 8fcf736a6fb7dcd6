// /api/docs: Swagger UI over this server's OpenAPI document.
(function () {
  'use strict';
  var el = document.getElementById('swagger-ui');
  if (!el || !window.SwaggerUIBundle) { return; }
  window.SwaggerUIBundle({
    url: el.getAttribute('data-spec-url'),
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout'
  });
})();
