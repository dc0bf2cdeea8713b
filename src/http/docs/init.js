// Swagger UI over this service's own /openapi.json; every asset comes from this service.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  // The bearer token stays in this page's memory only.
  persistAuthorization: false,
  tryItOutEnabled: true,
  // No call home: the validator badge would fetch from validator.swagger.io.
  validatorUrl: null,
});
