/// The OpenAPI 3.0 description of the API, served at `/openapi.json`.
///
/// Written by hand (not generated with swift-openapi-generator, which would add its runtime and
/// a build plugin to a target that is already the slow one to build): a static document, which
/// the tests parse and check against the routes, and which `tools/serve_fuzz.sh` feeds to
/// schemathesis.
enum OpenAPIDocument {
    static let json = #"""
{
  "openapi": "3.0.3",
  "info": {
    "title": "img2img serve",
    "version": "1.0.0",
    "description": "Image-to-image translation (CycleGAN, pix2pix generators) on the CPU. Translations run one at a time on a bounded queue; a full queue answers 503 with Retry-After."
  },
  "paths": {
    "/healthz": {
      "get": {
        "operationId": "health",
        "summary": "Liveness and queue state",
        "responses": {
          "200": { "description": "Serving", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Health" } } } }
        }
      }
    },
    "/metrics": {
      "get": {
        "operationId": "metrics",
        "summary": "Request metrics in Prometheus text format",
        "responses": {
          "200": { "description": "Prometheus exposition", "content": { "text/plain": { "schema": { "type": "string" } } } }
        }
      }
    },
    "/v1/models": {
      "get": {
        "operationId": "listModels",
        "summary": "The models served",
        "security": [ { "bearer": [] }, {} ],
        "responses": {
          "200": { "description": "Every model", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ModelList" } } } },
          "401": { "$ref": "#/components/responses/Error" }
        }
      }
    },
    "/v1/models/{name}": {
      "get": {
        "operationId": "getModel",
        "summary": "One model",
        "security": [ { "bearer": [] }, {} ],
        "parameters": [ { "$ref": "#/components/parameters/Name" } ],
        "responses": {
          "200": { "description": "The model", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Model" } } } },
          "401": { "$ref": "#/components/responses/Error" },
          "404": { "$ref": "#/components/responses/Error" }
        }
      }
    },
    "/v1/models/{name}/translate": {
      "post": {
        "operationId": "translate",
        "summary": "Translate one image",
        "description": "The body is a PNG or JPEG file. The answer is the translated image at the input's size, exactly as `img2img translate` writes it (padding, tiling of large images, alpha and 16-bit depth kept in PNG output).",
        "security": [ { "bearer": [] }, {} ],
        "parameters": [
          { "$ref": "#/components/parameters/Name" },
          { "name": "direction", "in": "query", "required": false, "schema": { "type": "string", "enum": [ "AtoB", "BtoA" ], "default": "AtoB" },
            "description": "BtoA only for a CycleGAN training checkpoint (G_B)." },
          { "name": "format", "in": "query", "required": false, "schema": { "type": "string", "enum": [ "png", "jpeg" ], "default": "png" } },
          { "name": "quality", "in": "query", "required": false, "schema": { "type": "integer", "minimum": 1, "maximum": 100, "default": 95 },
            "description": "JPEG quality (format=jpeg)." }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "image/png": { "schema": { "type": "string", "format": "binary" } },
            "image/jpeg": { "schema": { "type": "string", "format": "binary" } },
            "application/octet-stream": { "schema": { "type": "string", "format": "binary" } }
          }
        },
        "responses": {
          "200": {
            "description": "The translated image, same size as the input",
            "headers": {
              "X-Translate-Seconds": { "description": "Decode, translate and encode time", "schema": { "type": "string" } },
              "X-Queue-Seconds": { "description": "Time waiting for the worker", "schema": { "type": "string" } },
              "X-Total-Seconds": { "description": "Arrival to answer", "schema": { "type": "string" } }
            },
            "content": {
              "image/png": { "schema": { "type": "string", "format": "binary" } },
              "image/jpeg": { "schema": { "type": "string", "format": "binary" } }
            }
          },
          "400": { "$ref": "#/components/responses/Error" },
          "401": { "$ref": "#/components/responses/Error" },
          "404": { "$ref": "#/components/responses/Error" },
          "413": { "$ref": "#/components/responses/Error" },
          "503": {
            "description": "The queue is full",
            "headers": { "Retry-After": { "schema": { "type": "integer" } } },
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
          }
        }
      }
    }
  },
  "components": {
    "securitySchemes": {
      "bearer": { "type": "http", "scheme": "bearer", "description": "Only when the server was started with --token." }
    },
    "parameters": {
      "Name": { "name": "name", "in": "path", "required": true, "schema": { "type": "string" }, "description": "A model name from /v1/models." }
    },
    "responses": {
      "Error": {
        "description": "An error, named",
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
      }
    },
    "schemas": {
      "Error": {
        "type": "object",
        "required": [ "error", "message" ],
        "properties": {
          "error": { "type": "string", "enum": [ "bad_request", "not_an_image", "corrupt", "truncated", "unsupported", "unauthorized", "not_found", "method_not_allowed", "upload_too_large", "image_too_large", "busy", "client_gone", "internal" ] },
          "message": { "type": "string" }
        }
      },
      "Health": {
        "type": "object",
        "required": [ "status", "models", "queue_length", "max_queue", "token_required" ],
        "properties": {
          "status": { "type": "string" },
          "models": { "type": "integer" },
          "queue_length": { "type": "integer" },
          "max_queue": { "type": "integer" },
          "token_required": { "type": "boolean" }
        }
      },
      "Model": {
        "type": "object",
        "required": [ "name", "architecture", "input_channels", "output_channels", "norm", "ngf", "directions", "file" ],
        "properties": {
          "name": { "type": "string" },
          "architecture": { "type": "string", "description": "The paper code's netG: resnet_9blocks, unet_256, ..." },
          "input_channels": { "type": "integer" },
          "output_channels": { "type": "integer" },
          "norm": { "type": "string" },
          "ngf": { "type": "integer" },
          "directions": { "type": "array", "items": { "type": "string", "enum": [ "AtoB", "BtoA" ] } },
          "file": { "type": "string" }
        }
      },
      "ModelList": {
        "type": "object",
        "required": [ "models" ],
        "properties": { "models": { "type": "array", "items": { "$ref": "#/components/schemas/Model" } } }
      }
    }
  }
}
"""#
}
