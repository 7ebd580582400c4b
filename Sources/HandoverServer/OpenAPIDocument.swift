/// The OpenAPI 3.1 document of the delivery API, served at `GET /openapi.json`; `Schemas/openapi.json` holds the
/// same text (a test checks that they are equal).
package enum OpenAPIDocument {
    package static let json = #"""
        {
          "openapi": "3.1.0",
          "info": {
            "title": "Handover delivery API",
            "version": "1.0.0",
            "summary": "Export requests, resumable archive downloads and delivery links of `handover serve`.",
            "description": "The HTTP API of `handover serve`. Everything under `/v1` needs a bearer token (`Authorization: Bearer hov_t_…`), an operator's or a tenant's, except `/v1/downloads`, whose link token is itself the credential. A peer that fails to authenticate too often in a minute is refused with 429 and `Retry-After`, whatever it sends. Every error is an RFC 9457 problem (`application/problem+json`). Request bodies are JSON objects of at most 64 KiB; an unknown field is refused (400). Times are RFC 3339 date-times in UTC."
          },
          "tags": [
            {
              "name": "service",
              "description": "Liveness and this document."
            },
            {
              "name": "requests",
              "description": "Export requests and their lifecycle."
            },
            {
              "name": "downloads",
              "description": "Archives and parts: resumable, conditional downloads."
            },
            {
              "name": "links",
              "description": "Delivery links: capabilities to download one request's archive."
            }
          ],
          "security": [
            {
              "bearerAuth": []
            }
          ],
          "paths": {
            "/healthz": {
              "get": {
                "operationId": "getHealth",
                "tags": [
                  "service"
                ],
                "summary": "Liveness",
                "description": "Answers 200 while the process serves requests; touches neither the store nor the archives.",
                "security": [],
                "responses": {
                  "200": {
                    "description": "The service is up.",
                    "headers": {
                      "Cache-Control": {
                        "$ref": "#/components/headers/CacheControlNoStore"
                      },
                      "X-Content-Type-Options": {
                        "$ref": "#/components/headers/XContentTypeOptions"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Health"
                        }
                      }
                    }
                  }
                }
              }
            },
            "/openapi.json": {
              "get": {
                "operationId": "getOpenAPIDocument",
                "tags": [
                  "service"
                ],
                "summary": "This document",
                "description": "The OpenAPI 3.1 document of the delivery API (the same text as `Schemas/openapi.json`).",
                "security": [],
                "responses": {
                  "200": {
                    "description": "The OpenAPI document.",
                    "headers": {
                      "Cache-Control": {
                        "$ref": "#/components/headers/CacheControlNoCache"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "type": "object",
                          "required": [
                            "openapi",
                            "info",
                            "paths"
                          ]
                        }
                      }
                    }
                  }
                }
              }
            },
            "/v1/requests": {
              "post": {
                "operationId": "submitRequest",
                "tags": [
                  "requests"
                ],
                "summary": "Submit a request",
                "description": "Records a request as received. The operator names a subject (`scope.subject`), a tenant (`scope.tenant`), or both, and verifies the requester's identity later (`POST /v1/requests/{id}/verify`). A tenant token asks for its own tenant's export only: `scope` may name no subject and no other tenant, `purpose` may only be `controller-transfer`, and the request is verified and queued at once. `purpose` defaults to `access` for a subject and `controller-transfer` for a tenant; `id` is random (`req-` and 24 hexadecimal digits) when not given. A field the server does not know is refused (400).",
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/SubmitRequest"
                      }
                    }
                  }
                },
                "responses": {
                  "201": {
                    "description": "The request, as recorded.",
                    "headers": {
                      "Location": {
                        "$ref": "#/components/headers/Location"
                      },
                      "Cache-Control": {
                        "$ref": "#/components/headers/CacheControlNoStore"
                      },
                      "X-Content-Type-Options": {
                        "$ref": "#/components/headers/XContentTypeOptions"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Request"
                        }
                      }
                    },
                    "links": {
                      "GetRequest": {
                        "operationId": "getRequest",
                        "parameters": {
                          "id": "$response.body#/id"
                        }
                      },
                      "VerifyRequest": {
                        "operationId": "verifyRequest",
                        "parameters": {
                          "id": "$response.body#/id"
                        }
                      },
                      "CancelRequest": {
                        "operationId": "cancelRequest",
                        "parameters": {
                          "id": "$response.body#/id"
                        }
                      },
                      "CreateLink": {
                        "operationId": "createLink",
                        "parameters": {
                          "id": "$response.body#/id"
                        }
                      },
                      "DownloadArchive": {
                        "operationId": "downloadArchive",
                        "parameters": {
                          "id": "$response.body#/id"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "409": {
                    "$ref": "#/components/responses/Conflict"
                  },
                  "413": {
                    "$ref": "#/components/responses/ContentTooLarge"
                  },
                  "415": {
                    "$ref": "#/components/responses/UnsupportedMediaType"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "500": {
                    "$ref": "#/components/responses/InternalServerError"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailable"
                  }
                }
              },
              "get": {
                "operationId": "listRequests",
                "tags": [
                  "requests"
                ],
                "summary": "List requests",
                "description": "The requests the token may see, most urgent first (by due date, then id): every request for the operator, its own tenant's for a tenant token. Any query parameter other than `state` and `dueBefore` is refused (400).",
                "parameters": [
                  {
                    "$ref": "#/components/parameters/State"
                  },
                  {
                    "$ref": "#/components/parameters/DueBefore"
                  }
                ],
                "responses": {
                  "200": {
                    "description": "The requests.",
                    "headers": {
                      "Cache-Control": {
                        "$ref": "#/components/headers/CacheControlNoStore"
                      },
                      "X-Content-Type-Options": {
                        "$ref": "#/components/headers/XContentTypeOptions"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/RequestList"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "500": {
                    "$ref": "#/components/responses/InternalServerError"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailable"
                  }
                }
              }
            },
            "/v1/requests/{id}": {
              "parameters": [
                {
                  "$ref": "#/components/parameters/RequestId"
                }
              ],
              "get": {
                "operationId": "getRequest",
                "tags": [
                  "requests"
                ],
                "summary": "Get a request",
                "description": "A request the token may see; another tenant's request answers 404, as an unknown one.",
                "responses": {
                  "200": {
                    "description": "The request.",
                    "headers": {
                      "Cache-Control": {
                        "$ref": "#/components/headers/CacheControlNoStore"
                      },
                      "X-Content-Type-Options": {
                        "$ref": "#/components/headers/XContentTypeOptions"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Request"
                        }
                      }
                    }
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "500": {
                    "$ref": "#/components/responses/InternalServerError"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailable"
                  }
                }
              }
            },
            "/v1/requests/{id}/verify": {
              "parameters": [
                {
                  "$ref": "#/components/parameters/RequestId"
                }
              ],
              "post": {
                "operationId": "verifyRequest",
                "tags": [
                  "requests"
                ],
                "summary": "Verify the requester's identity",
                "description": "Records that the operator verified the requester's identity and queues the request for a worker (`received` → `verified` → `queued`). Operator only (403 for a tenant token); 409 when the request is not `received`. No request body is read.",
                "responses": {
                  "200": {
                    "description": "The request, now queued.",
                    "headers": {
                      "Cache-Control": {
                        "$ref": "#/components/headers/CacheControlNoStore"
                      },
                      "X-Content-Type-Options": {
                        "$ref": "#/components/headers/XContentTypeOptions"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Request"
                        }
                      }
                    }
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "409": {
                    "$ref": "#/components/responses/Conflict"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "500": {
                    "$ref": "#/components/responses/InternalServerError"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailable"
                  }
                }
              }
            },
            "/v1/requests/{id}/cancel": {
              "parameters": [
                {
                  "$ref": "#/components/parameters/RequestId"
                }
              ],
              "post": {
                "operationId": "cancelRequest",
                "tags": [
                  "requests"
                ],
                "summary": "Cancel a request",
                "description": "Withdraws a request that has not finished (409 for one that is `completed`, `failed`, `cancelled` or `expired`); a worker holding it loses its lease. No request body is read.",
                "responses": {
                  "200": {
                    "description": "The request, now cancelled.",
                    "headers": {
                      "Cache-Control": {
                        "$ref": "#/components/headers/CacheControlNoStore"
                      },
                      "X-Content-Type-Options": {
                        "$ref": "#/components/headers/XContentTypeOptions"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Request"
                        }
                      }
                    }
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "409": {
                    "$ref": "#/components/responses/Conflict"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "500": {
                    "$ref": "#/components/responses/InternalServerError"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailable"
                  }
                }
              }
            },
            "/v1/requests/{id}/archive": {
              "parameters": [
                {
                  "$ref": "#/components/parameters/RequestId"
                }
              ],
              "get": {
                "operationId": "downloadArchive",
                "tags": [
                  "downloads"
                ],
                "summary": "Download a request's archive",
                "description": "The archive of a completed request, resumable: a single `Range` (`bytes=first-last`, `bytes=first-`, `bytes=-suffix`) answers 206; several ranges or a malformed one answer the whole file (200); a range starting past the end answers 416. `If-Range` and `If-None-Match` take the `ETag` (the archive's SHA-256). 409 while the request has no archive yet, or when the bundle is split into parts (download each from `/parts/{n}`); 410 once the archive has been deleted at the end of its retention period.",
                "parameters": [
                  {
                    "$ref": "#/components/parameters/Range"
                  },
                  {
                    "$ref": "#/components/parameters/IfRange"
                  },
                  {
                    "$ref": "#/components/parameters/IfNoneMatch"
                  }
                ],
                "responses": {
                  "200": {
                    "$ref": "#/components/responses/Archive"
                  },
                  "206": {
                    "$ref": "#/components/responses/ArchiveRange"
                  },
                  "304": {
                    "$ref": "#/components/responses/NotModified"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "409": {
                    "$ref": "#/components/responses/Conflict"
                  },
                  "410": {
                    "$ref": "#/components/responses/Gone"
                  },
                  "416": {
                    "$ref": "#/components/responses/RangeNotSatisfiable"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "500": {
                    "$ref": "#/components/responses/InternalServerError"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailable"
                  }
                }
              },
              "head": {
                "operationId": "headArchive",
                "tags": [
                  "downloads"
                ],
                "summary": "Describe a request's archive (headers only)",
                "description": "The same as the GET, without a body; never counts against a link's download limit.",
                "parameters": [
                  {
                    "$ref": "#/components/parameters/Range"
                  },
                  {
                    "$ref": "#/components/parameters/IfRange"
                  },
                  {
                    "$ref": "#/components/parameters/IfNoneMatch"
                  }
                ],
                "responses": {
                  "200": {
                    "$ref": "#/components/responses/Archive"
                  },
                  "206": {
                    "$ref": "#/components/responses/ArchiveRange"
                  },
                  "304": {
                    "$ref": "#/components/responses/NotModified"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "409": {
                    "$ref": "#/components/responses/Conflict"
                  },
                  "410": {
                    "$ref": "#/components/responses/Gone"
                  },
                  "416": {
                    "$ref": "#/components/responses/RangeNotSatisfiable"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "500": {
                    "$ref": "#/components/responses/InternalServerError"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailable"
                  }
                }
              }
            },
            "/v1/requests/{id}/parts/{n}": {
              "parameters": [
                {
                  "$ref": "#/components/parameters/RequestId"
                }
              ],
              "get": {
                "operationId": "downloadPart",
                "tags": [
                  "downloads"
                ],
                "summary": "Download one part of a split bundle",
                "description": "Part `n` (from 1) of a bundle that was split into parts, with the same ranges, validators and errors as the archive. 404 for a part number that does not exist (or is not written in canonical form) and for any part of an archive that is not split.",
                "parameters": [
                  {
                    "$ref": "#/components/parameters/PartNumber"
                  },
                  {
                    "$ref": "#/components/parameters/Range"
                  },
                  {
                    "$ref": "#/components/parameters/IfRange"
                  },
                  {
                    "$ref": "#/components/parameters/IfNoneMatch"
                  }
                ],
                "responses": {
                  "200": {
                    "$ref": "#/components/responses/Archive"
                  },
                  "206": {
                    "$ref": "#/components/responses/ArchiveRange"
                  },
                  "304": {
                    "$ref": "#/components/responses/NotModified"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "409": {
                    "$ref": "#/components/responses/Conflict"
                  },
                  "410": {
                    "$ref": "#/components/responses/Gone"
                  },
                  "416": {
                    "$ref": "#/components/responses/RangeNotSatisfiable"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "500": {
                    "$ref": "#/components/responses/InternalServerError"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailable"
                  }
                }
              },
              "head": {
                "operationId": "headPart",
                "tags": [
                  "downloads"
                ],
                "summary": "Describe one part of a split bundle (headers only)",
                "description": "The same as the GET, without a body; never counts against a link's download limit.",
                "parameters": [
                  {
                    "$ref": "#/components/parameters/PartNumber"
                  },
                  {
                    "$ref": "#/components/parameters/Range"
                  },
                  {
                    "$ref": "#/components/parameters/IfRange"
                  },
                  {
                    "$ref": "#/components/parameters/IfNoneMatch"
                  }
                ],
                "responses": {
                  "200": {
                    "$ref": "#/components/responses/Archive"
                  },
                  "206": {
                    "$ref": "#/components/responses/ArchiveRange"
                  },
                  "304": {
                    "$ref": "#/components/responses/NotModified"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "409": {
                    "$ref": "#/components/responses/Conflict"
                  },
                  "410": {
                    "$ref": "#/components/responses/Gone"
                  },
                  "416": {
                    "$ref": "#/components/responses/RangeNotSatisfiable"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "500": {
                    "$ref": "#/components/responses/InternalServerError"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailable"
                  }
                }
              }
            },
            "/v1/requests/{id}/links": {
              "parameters": [
                {
                  "$ref": "#/components/parameters/RequestId"
                }
              ],
              "post": {
                "operationId": "createLink",
                "tags": [
                  "links"
                ],
                "summary": "Create a delivery link",
                "description": "Makes a link that downloads the request's archive without any other credential, for a data subject or a receiving controller. The body is optional (an empty body takes the defaults): the link works for `expiresInSeconds` (default 86400, at most the server's maximum, 2592000 unless configured otherwise) but never past the archive's retention, and for at most `maxDownloads` downloads when given (a resumed download does not count again). The link's secret appears only in this response's `url`. 409 while the request has no archive.",
                "requestBody": {
                  "required": false,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/CreateLinkRequest"
                      }
                    }
                  }
                },
                "responses": {
                  "201": {
                    "description": "The link, with its secret URL (shown once).",
                    "headers": {
                      "Cache-Control": {
                        "$ref": "#/components/headers/CacheControlNoStore"
                      },
                      "X-Content-Type-Options": {
                        "$ref": "#/components/headers/XContentTypeOptions"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Link"
                        }
                      }
                    },
                    "links": {
                      "RevokeLink": {
                        "operationId": "revokeLink",
                        "parameters": {
                          "link": "$response.body#/id"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "409": {
                    "$ref": "#/components/responses/Conflict"
                  },
                  "413": {
                    "$ref": "#/components/responses/ContentTooLarge"
                  },
                  "415": {
                    "$ref": "#/components/responses/UnsupportedMediaType"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "500": {
                    "$ref": "#/components/responses/InternalServerError"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailable"
                  }
                }
              }
            },
            "/v1/links/{link}": {
              "parameters": [
                {
                  "$ref": "#/components/parameters/LinkId"
                }
              ],
              "delete": {
                "operationId": "revokeLink",
                "tags": [
                  "links"
                ],
                "summary": "Revoke a delivery link",
                "description": "The link answers 404, as an unknown one, from now on. Revoking a revoked link again succeeds. A link of a request the token may not see answers 404.",
                "responses": {
                  "204": {
                    "description": "Revoked.",
                    "headers": {
                      "Cache-Control": {
                        "$ref": "#/components/headers/CacheControlNoStore"
                      }
                    }
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "500": {
                    "$ref": "#/components/responses/InternalServerError"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailable"
                  }
                }
              }
            },
            "/v1/downloads/{token}": {
              "get": {
                "operationId": "downloadByLink",
                "tags": [
                  "downloads"
                ],
                "summary": "Download an archive by delivery link",
                "description": "No credential but the link's token in the path. Ranges, validators and errors as for `/v1/requests/{id}/archive`. An unknown, tampered or revoked link answers 404; an expired one, or one whose downloads are used up, 410. A GET that starts at byte 0 counts against the link's download limit; ranged requests that resume it and HEAD requests do not.",
                "parameters": [
                  {
                    "$ref": "#/components/parameters/DownloadToken"
                  },
                  {
                    "$ref": "#/components/parameters/Range"
                  },
                  {
                    "$ref": "#/components/parameters/IfRange"
                  },
                  {
                    "$ref": "#/components/parameters/IfNoneMatch"
                  }
                ],
                "responses": {
                  "200": {
                    "$ref": "#/components/responses/Archive"
                  },
                  "206": {
                    "$ref": "#/components/responses/ArchiveRange"
                  },
                  "304": {
                    "$ref": "#/components/responses/NotModified"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "409": {
                    "$ref": "#/components/responses/Conflict"
                  },
                  "410": {
                    "$ref": "#/components/responses/Gone"
                  },
                  "416": {
                    "$ref": "#/components/responses/RangeNotSatisfiable"
                  },
                  "500": {
                    "$ref": "#/components/responses/InternalServerError"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailable"
                  }
                },
                "security": []
              },
              "head": {
                "operationId": "headByLink",
                "tags": [
                  "downloads"
                ],
                "summary": "Describe an archive by delivery link (headers only)",
                "description": "The same as the GET, without a body; never counts against a link's download limit.",
                "parameters": [
                  {
                    "$ref": "#/components/parameters/DownloadToken"
                  },
                  {
                    "$ref": "#/components/parameters/Range"
                  },
                  {
                    "$ref": "#/components/parameters/IfRange"
                  },
                  {
                    "$ref": "#/components/parameters/IfNoneMatch"
                  }
                ],
                "responses": {
                  "200": {
                    "$ref": "#/components/responses/Archive"
                  },
                  "206": {
                    "$ref": "#/components/responses/ArchiveRange"
                  },
                  "304": {
                    "$ref": "#/components/responses/NotModified"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "409": {
                    "$ref": "#/components/responses/Conflict"
                  },
                  "410": {
                    "$ref": "#/components/responses/Gone"
                  },
                  "416": {
                    "$ref": "#/components/responses/RangeNotSatisfiable"
                  },
                  "500": {
                    "$ref": "#/components/responses/InternalServerError"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailable"
                  }
                },
                "security": []
              }
            },
            "/v1/downloads/{token}/parts/{n}": {
              "get": {
                "operationId": "downloadPartByLink",
                "tags": [
                  "downloads"
                ],
                "summary": "Download one part of a split bundle by delivery link",
                "description": "Part `n` (from 1) of a split bundle, by link; as `/v1/downloads/{token}` otherwise.",
                "parameters": [
                  {
                    "$ref": "#/components/parameters/DownloadToken"
                  },
                  {
                    "$ref": "#/components/parameters/PartNumber"
                  },
                  {
                    "$ref": "#/components/parameters/Range"
                  },
                  {
                    "$ref": "#/components/parameters/IfRange"
                  },
                  {
                    "$ref": "#/components/parameters/IfNoneMatch"
                  }
                ],
                "responses": {
                  "200": {
                    "$ref": "#/components/responses/Archive"
                  },
                  "206": {
                    "$ref": "#/components/responses/ArchiveRange"
                  },
                  "304": {
                    "$ref": "#/components/responses/NotModified"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "409": {
                    "$ref": "#/components/responses/Conflict"
                  },
                  "410": {
                    "$ref": "#/components/responses/Gone"
                  },
                  "416": {
                    "$ref": "#/components/responses/RangeNotSatisfiable"
                  },
                  "500": {
                    "$ref": "#/components/responses/InternalServerError"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailable"
                  }
                },
                "security": []
              },
              "head": {
                "operationId": "headPartByLink",
                "tags": [
                  "downloads"
                ],
                "summary": "Describe one part of a split bundle by delivery link (headers only)",
                "description": "The same as the GET, without a body; never counts against a link's download limit.",
                "parameters": [
                  {
                    "$ref": "#/components/parameters/DownloadToken"
                  },
                  {
                    "$ref": "#/components/parameters/PartNumber"
                  },
                  {
                    "$ref": "#/components/parameters/Range"
                  },
                  {
                    "$ref": "#/components/parameters/IfRange"
                  },
                  {
                    "$ref": "#/components/parameters/IfNoneMatch"
                  }
                ],
                "responses": {
                  "200": {
                    "$ref": "#/components/responses/Archive"
                  },
                  "206": {
                    "$ref": "#/components/responses/ArchiveRange"
                  },
                  "304": {
                    "$ref": "#/components/responses/NotModified"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "409": {
                    "$ref": "#/components/responses/Conflict"
                  },
                  "410": {
                    "$ref": "#/components/responses/Gone"
                  },
                  "416": {
                    "$ref": "#/components/responses/RangeNotSatisfiable"
                  },
                  "500": {
                    "$ref": "#/components/responses/InternalServerError"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailable"
                  }
                },
                "security": []
              }
            }
          },
          "components": {
            "schemas": {
              "Problem": {
                "description": "RFC 9457 problem details. `detail` never holds a data value, a token or a secret.",
                "type": "object",
                "required": [
                  "type",
                  "title",
                  "status",
                  "detail"
                ],
                "properties": {
                  "type": {
                    "type": "string",
                    "format": "uri-reference",
                    "const": "about:blank"
                  },
                  "title": {
                    "type": "string",
                    "description": "The status's reason phrase."
                  },
                  "status": {
                    "type": "integer",
                    "minimum": 400,
                    "maximum": 599
                  },
                  "detail": {
                    "type": "string",
                    "description": "What went wrong, for a person."
                  }
                }
              },
              "Health": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "status"
                ],
                "properties": {
                  "status": {
                    "const": "ok"
                  }
                }
              },
              "RequestId": {
                "description": "1 to 100 ASCII letters, digits, `.`, `_` and `-`, starting with a letter or digit.",
                "type": "string",
                "minLength": 1,
                "maxLength": 100,
                "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
              },
              "Purpose": {
                "description": "The legal ground: a data subject's right of access (GDPR Art. 15) or to portability (Art. 20), or a controller taking its data back from its processor (Art. 28(3)(g)).",
                "type": "string",
                "enum": [
                  "access",
                  "portability",
                  "controller-transfer"
                ]
              },
              "RequestState": {
                "description": "received → verified → queued → running → completed | failed | cancelled; completed → expired when the archive's retention period ends.",
                "type": "string",
                "enum": [
                  "received",
                  "verified",
                  "queued",
                  "running",
                  "completed",
                  "failed",
                  "cancelled",
                  "expired"
                ]
              },
              "Sha256": {
                "type": "string",
                "pattern": "^[0-9a-f]{64}$"
              },
              "SubmitRequest": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                  "id": {
                    "$ref": "#/components/schemas/RequestId",
                    "description": "The request's id; random when not given (409 when taken)."
                  },
                  "purpose": {
                    "$ref": "#/components/schemas/Purpose"
                  },
                  "scope": {
                    "$ref": "#/components/schemas/SubmitScope"
                  }
                }
              },
              "SubmitScope": {
                "description": "Whose data: a subject, a tenant, or a subject within a tenant. The operator must give `tenant`, `subject` or both; a tenant token may give only its own `tenant`, or no scope at all.",
                "type": "object",
                "additionalProperties": false,
                "properties": {
                  "tenant": {
                    "description": "The tenant's id: not blank, without control characters.",
                    "type": "string",
                    "minLength": 1,
                    "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f\\u202a-\\u202e\\u2066-\\u2069]*[^\\u0000-\\u001f\\u007f-\\u009f\\u202a-\\u202e\\u2066-\\u2069\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\u180e\\u200b-\\u200d\\u2060\\ufeff][^\\u0000-\\u001f\\u007f-\\u009f\\u202a-\\u202e\\u2066-\\u2069]*$"
                  },
                  "subject": {
                    "$ref": "#/components/schemas/SubjectSelector"
                  }
                },
                "anyOf": [
                  {
                    "required": [
                      "tenant"
                    ]
                  },
                  {
                    "required": [
                      "subject"
                    ]
                  }
                ]
              },
              "SubjectSelector": {
                "description": "One data subject: a column of the subject table and the value it must hold. The value is personal data: it is never shown back (only the column is).",
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "column",
                  "value"
                ],
                "properties": {
                  "column": {
                    "description": "An identifier: 1 to 64 ASCII letters, digits and `_`, not starting with a digit or `xml`.",
                    "type": "string",
                    "pattern": "^(?![Xx][Mm][Ll])[A-Za-z_][A-Za-z0-9_]{0,63}$"
                  },
                  "value": {
                    "description": "The value; one that is empty or only white space selects no one and is refused (400).",
                    "type": "string",
                    "minLength": 1,
                    "pattern": "[^\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\u180e\\u200b-\\u200d\\u2060\\ufeff]"
                  }
                }
              },
              "Request": {
                "description": "A request as the API shows it: never the subject's value, only the column that selects it.",
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "id",
                  "purpose",
                  "scope",
                  "state",
                  "receivedAt",
                  "due",
                  "attempts"
                ],
                "properties": {
                  "id": {
                    "$ref": "#/components/schemas/RequestId"
                  },
                  "purpose": {
                    "$ref": "#/components/schemas/Purpose"
                  },
                  "scope": {
                    "$ref": "#/components/schemas/Scope"
                  },
                  "state": {
                    "$ref": "#/components/schemas/RequestState"
                  },
                  "receivedAt": {
                    "type": "string",
                    "format": "date-time"
                  },
                  "due": {
                    "description": "The deadline (GDPR Art. 12(3)): one month after receipt unless extended.",
                    "type": "string",
                    "format": "date-time"
                  },
                  "attempts": {
                    "description": "How many export attempts have started.",
                    "type": "integer",
                    "minimum": 0
                  },
                  "failureReason": {
                    "description": "Why it failed, or why the last attempt failed.",
                    "type": "string"
                  },
                  "archive": {
                    "$ref": "#/components/schemas/Archive"
                  }
                }
              },
              "Scope": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "kind"
                ],
                "properties": {
                  "kind": {
                    "type": "string",
                    "enum": [
                      "subject",
                      "tenant"
                    ]
                  },
                  "tenant": {
                    "type": "string"
                  },
                  "subjectColumn": {
                    "type": "string"
                  }
                }
              },
              "Archive": {
                "description": "What a completed request published: one archive (`sha256`, `url`), or a bundle split into `parts`.",
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "bytes",
                  "url"
                ],
                "properties": {
                  "bytes": {
                    "description": "The total size.",
                    "type": "integer",
                    "minimum": 0
                  },
                  "sha256": {
                    "$ref": "#/components/schemas/Sha256"
                  },
                  "parts": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                      "$ref": "#/components/schemas/Part"
                    }
                  },
                  "expiresAt": {
                    "description": "When the archive is deleted (end of its retention period).",
                    "type": "string",
                    "format": "date-time"
                  },
                  "url": {
                    "type": "string",
                    "format": "uri-reference"
                  }
                }
              },
              "Part": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "number",
                  "bytes",
                  "sha256",
                  "url"
                ],
                "properties": {
                  "number": {
                    "type": "integer",
                    "minimum": 1
                  },
                  "bytes": {
                    "type": "integer",
                    "minimum": 0
                  },
                  "sha256": {
                    "$ref": "#/components/schemas/Sha256"
                  },
                  "url": {
                    "type": "string",
                    "format": "uri-reference"
                  }
                }
              },
              "RequestList": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "requests"
                ],
                "properties": {
                  "requests": {
                    "type": "array",
                    "items": {
                      "$ref": "#/components/schemas/Request"
                    }
                  }
                }
              },
              "CreateLinkRequest": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                  "expiresInSeconds": {
                    "description": "How long the link works, in seconds: 60 to the server's maximum (2592000, 30 days, unless configured otherwise); 86400 when not given.",
                    "type": "integer",
                    "minimum": 60,
                    "maximum": 2592000
                  },
                  "maxDownloads": {
                    "description": "How many downloads the link allows; unlimited when not given.",
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 1000000
                  }
                }
              },
              "Link": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "id",
                  "request",
                  "url",
                  "expiresAt"
                ],
                "properties": {
                  "id": {
                    "description": "The link's public id, to revoke it.",
                    "type": "string",
                    "pattern": "^[0-9a-f]{16}$"
                  },
                  "request": {
                    "$ref": "#/components/schemas/RequestId"
                  },
                  "url": {
                    "description": "The download URL, holding the link's secret: shown once, never stored.",
                    "type": "string",
                    "format": "uri"
                  },
                  "expiresAt": {
                    "type": "string",
                    "format": "date-time"
                  },
                  "maxDownloads": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 1000000
                  }
                }
              },
              "NotificationEvent": {
                "description": "The body of a webhook (`handover worker --notify-url`): a request completed, failed for good, or is still open near its deadline. No personal data: no subject value or pseudonym.",
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "id",
                  "type",
                  "createdAt",
                  "request"
                ],
                "properties": {
                  "id": {
                    "description": "The event's id; also the `Handover-Event-Id` header. A receiver that sees it twice drops the second.",
                    "type": "string",
                    "pattern": "^evt_[0-9a-f]{16}$"
                  },
                  "type": {
                    "enum": [
                      "request.completed",
                      "request.failed",
                      "request.deadline_approaching"
                    ]
                  },
                  "createdAt": {
                    "type": "string",
                    "format": "date-time",
                    "description": "When the event happened (the same on every attempt)."
                  },
                  "request": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": [
                      "id",
                      "purpose",
                      "scope",
                      "state",
                      "receivedAt",
                      "due"
                    ],
                    "properties": {
                      "id": {
                        "$ref": "#/components/schemas/RequestId"
                      },
                      "purpose": {
                        "$ref": "#/components/schemas/Purpose"
                      },
                      "scope": {
                        "description": "Whose data: one subject's, or one tenant's.",
                        "enum": [
                          "subject",
                          "tenant"
                        ]
                      },
                      "tenant": {
                        "type": "string"
                      },
                      "state": {
                        "$ref": "#/components/schemas/RequestState"
                      },
                      "receivedAt": {
                        "type": "string",
                        "format": "date-time"
                      },
                      "due": {
                        "type": "string",
                        "format": "date-time"
                      },
                      "failureReason": {
                        "description": "Why it failed (request.failed only); never holds personal data.",
                        "type": "string"
                      },
                      "archive": {
                        "description": "What was published (request.completed only).",
                        "type": "object",
                        "additionalProperties": false,
                        "required": [
                          "bytes",
                          "files"
                        ],
                        "properties": {
                          "bytes": {
                            "type": "integer",
                            "minimum": 0
                          },
                          "sha256": {
                            "description": "The archive's SHA-256, when it is one file.",
                            "$ref": "#/components/schemas/Sha256"
                          },
                          "expiresAt": {
                            "type": "string",
                            "format": "date-time",
                            "description": "When retention ends and the archive is deleted."
                          },
                          "files": {
                            "type": "array",
                            "minItems": 1,
                            "items": {
                              "type": "object",
                              "additionalProperties": false,
                              "required": [
                                "name",
                                "bytes",
                                "sha256"
                              ],
                              "properties": {
                                "name": {
                                  "type": "string"
                                },
                                "bytes": {
                                  "type": "integer",
                                  "minimum": 0
                                },
                                "sha256": {
                                  "$ref": "#/components/schemas/Sha256"
                                }
                              }
                            }
                          }
                        }
                      }
                    }
                  }
                }
              }
            },
            "parameters": {
              "RequestId": {
                "name": "id",
                "in": "path",
                "required": true,
                "schema": {
                  "$ref": "#/components/schemas/RequestId"
                }
              },
              "PartNumber": {
                "name": "n",
                "in": "path",
                "required": true,
                "description": "The part's number, from 1, in canonical decimal form.",
                "schema": {
                  "type": "integer",
                  "minimum": 1
                }
              },
              "LinkId": {
                "name": "link",
                "in": "path",
                "required": true,
                "description": "The link's public id (`id` in the link's creation response).",
                "schema": {
                  "type": "string",
                  "pattern": "^[0-9a-f]{16}$"
                }
              },
              "DownloadToken": {
                "name": "token",
                "in": "path",
                "required": true,
                "description": "The link's token: the last segment of the `url` its creation returned.",
                "schema": {
                  "type": "string",
                  "pattern": "^hov_l_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$"
                }
              },
              "State": {
                "name": "state",
                "in": "query",
                "required": false,
                "description": "Only requests in this state.",
                "schema": {
                  "$ref": "#/components/schemas/RequestState"
                }
              },
              "DueBefore": {
                "name": "dueBefore",
                "in": "query",
                "required": false,
                "description": "Only open requests (`received`, `verified`, `queued`, `running`) due before this instant (RFC 3339; an instant without an offset is read as UTC).",
                "schema": {
                  "type": "string",
                  "format": "date-time"
                }
              },
              "Range": {
                "name": "Range",
                "in": "header",
                "required": false,
                "description": "One byte range: `bytes=first-last`, `bytes=first-` or `bytes=-suffix`. Several ranges, another unit or a malformed value are ignored (the whole file, 200).",
                "schema": {
                  "type": "string"
                }
              },
              "IfRange": {
                "name": "If-Range",
                "in": "header",
                "required": false,
                "description": "The `ETag` or `Last-Modified` of a previous response: the range is served only while it matches.",
                "schema": {
                  "type": "string"
                }
              },
              "IfNoneMatch": {
                "name": "If-None-Match",
                "in": "header",
                "required": false,
                "description": "`ETag`s (or `*`): 304 when the file's matches.",
                "schema": {
                  "type": "string"
                }
              }
            },
            "headers": {
              "CacheControlNoStore": {
                "required": true,
                "schema": {
                  "type": "string",
                  "const": "no-store"
                }
              },
              "CacheControlNoCache": {
                "required": true,
                "schema": {
                  "type": "string",
                  "const": "no-cache"
                }
              },
              "XContentTypeOptions": {
                "required": true,
                "schema": {
                  "type": "string",
                  "const": "nosniff"
                }
              },
              "Location": {
                "description": "The new request's path.",
                "required": true,
                "schema": {
                  "type": "string",
                  "format": "uri-reference",
                  "pattern": "^/v1/requests/[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
                }
              },
              "WWWAuthenticate": {
                "required": true,
                "schema": {
                  "type": "string",
                  "pattern": "^Bearer realm=\"handover\"$"
                }
              },
              "RetryAfter": {
                "description": "Seconds until the peer may try to authenticate again.",
                "required": true,
                "schema": {
                  "type": "integer",
                  "minimum": 1
                }
              },
              "ContentRangeUnsatisfied": {
                "description": "`bytes */size`: the file's size.",
                "required": true,
                "schema": {
                  "type": "string",
                  "pattern": "^bytes \\*/[0-9]+$"
                }
              },
              "ContentRange": {
                "description": "`bytes first-last/size`: the range sent.",
                "required": true,
                "schema": {
                  "type": "string",
                  "pattern": "^bytes [0-9]+-[0-9]+/[0-9]+$"
                }
              },
              "ContentLength": {
                "required": true,
                "schema": {
                  "type": "integer",
                  "minimum": 0
                }
              },
              "ETag": {
                "description": "A strong validator: the file's SHA-256, quoted.",
                "required": true,
                "schema": {
                  "type": "string",
                  "pattern": "^\"[0-9a-f]{64}\"$"
                }
              },
              "LastModified": {
                "required": true,
                "schema": {
                  "type": "string",
                  "pattern": "^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT$"
                }
              },
              "AcceptRanges": {
                "required": true,
                "schema": {
                  "type": "string",
                  "const": "bytes"
                }
              },
              "ContentDisposition": {
                "description": "`attachment; filename=\"…\"; filename*=UTF-8''…` (RFC 6266, RFC 8187).",
                "required": true,
                "schema": {
                  "type": "string",
                  "pattern": "^attachment; filename=\""
                }
              }
            },
            "responses": {
              "Archive": {
                "description": "The whole file. Its media type follows the file's name: `application/zip`, `application/gzip` (`.tar.gz`), `application/x-xz` (`.tar.xz`), `application/zstd` (`.tar.zst`), otherwise `application/octet-stream`. A HEAD answers the same headers without the body.",
                "headers": {
                  "Content-Length": {
                    "$ref": "#/components/headers/ContentLength"
                  },
                  "ETag": {
                    "$ref": "#/components/headers/ETag"
                  },
                  "Last-Modified": {
                    "$ref": "#/components/headers/LastModified"
                  },
                  "Accept-Ranges": {
                    "$ref": "#/components/headers/AcceptRanges"
                  },
                  "Content-Disposition": {
                    "$ref": "#/components/headers/ContentDisposition"
                  },
                  "Cache-Control": {
                    "$ref": "#/components/headers/CacheControlNoStore"
                  },
                  "X-Content-Type-Options": {
                    "$ref": "#/components/headers/XContentTypeOptions"
                  }
                },
                "content": {
                  "application/zip": {},
                  "application/gzip": {},
                  "application/x-xz": {},
                  "application/zstd": {},
                  "application/octet-stream": {}
                }
              },
              "ArchiveRange": {
                "description": "The range asked for (a single range).",
                "headers": {
                  "Content-Length": {
                    "$ref": "#/components/headers/ContentLength"
                  },
                  "ETag": {
                    "$ref": "#/components/headers/ETag"
                  },
                  "Last-Modified": {
                    "$ref": "#/components/headers/LastModified"
                  },
                  "Accept-Ranges": {
                    "$ref": "#/components/headers/AcceptRanges"
                  },
                  "Content-Disposition": {
                    "$ref": "#/components/headers/ContentDisposition"
                  },
                  "Cache-Control": {
                    "$ref": "#/components/headers/CacheControlNoStore"
                  },
                  "X-Content-Type-Options": {
                    "$ref": "#/components/headers/XContentTypeOptions"
                  },
                  "Content-Range": {
                    "$ref": "#/components/headers/ContentRange"
                  }
                },
                "content": {
                  "application/zip": {},
                  "application/gzip": {},
                  "application/x-xz": {},
                  "application/zstd": {},
                  "application/octet-stream": {}
                }
              },
              "NotModified": {
                "description": "`If-None-Match` names the file's `ETag`: no body.",
                "headers": {
                  "ETag": {
                    "$ref": "#/components/headers/ETag"
                  },
                  "Last-Modified": {
                    "$ref": "#/components/headers/LastModified"
                  },
                  "Cache-Control": {
                    "$ref": "#/components/headers/CacheControlNoStore"
                  }
                }
              },
              "BadRequest": {
                "description": "The body, a parameter or a field is malformed, unknown or out of range (the detail says which).",
                "headers": {
                  "Cache-Control": {
                    "$ref": "#/components/headers/CacheControlNoStore"
                  },
                  "X-Content-Type-Options": {
                    "$ref": "#/components/headers/XContentTypeOptions"
                  }
                },
                "content": {
                  "application/problem+json": {
                    "schema": {
                      "allOf": [
                        {
                          "$ref": "#/components/schemas/Problem"
                        },
                        {
                          "properties": {
                            "status": {
                              "const": 400
                            }
                          }
                        }
                      ]
                    }
                  }
                }
              },
              "Unauthorized": {
                "description": "No bearer token, or one that is malformed, unknown, revoked or expired. Counts against the peer's limit of failed authentications.",
                "headers": {
                  "WWW-Authenticate": {
                    "$ref": "#/components/headers/WWWAuthenticate"
                  },
                  "Cache-Control": {
                    "$ref": "#/components/headers/CacheControlNoStore"
                  },
                  "X-Content-Type-Options": {
                    "$ref": "#/components/headers/XContentTypeOptions"
                  }
                },
                "content": {
                  "application/problem+json": {
                    "schema": {
                      "allOf": [
                        {
                          "$ref": "#/components/schemas/Problem"
                        },
                        {
                          "properties": {
                            "status": {
                              "const": 401
                            }
                          }
                        }
                      ]
                    }
                  }
                }
              },
              "Forbidden": {
                "description": "A valid token that may not do this (a tenant token).",
                "headers": {
                  "Cache-Control": {
                    "$ref": "#/components/headers/CacheControlNoStore"
                  },
                  "X-Content-Type-Options": {
                    "$ref": "#/components/headers/XContentTypeOptions"
                  }
                },
                "content": {
                  "application/problem+json": {
                    "schema": {
                      "allOf": [
                        {
                          "$ref": "#/components/schemas/Problem"
                        },
                        {
                          "properties": {
                            "status": {
                              "const": 403
                            }
                          }
                        }
                      ]
                    }
                  }
                }
              },
              "NotFound": {
                "description": "No such resource, or one the token may not see (another tenant's request answers exactly as an unknown one).",
                "headers": {
                  "Cache-Control": {
                    "$ref": "#/components/headers/CacheControlNoStore"
                  },
                  "X-Content-Type-Options": {
                    "$ref": "#/components/headers/XContentTypeOptions"
                  }
                },
                "content": {
                  "application/problem+json": {
                    "schema": {
                      "allOf": [
                        {
                          "$ref": "#/components/schemas/Problem"
                        },
                        {
                          "properties": {
                            "status": {
                              "const": 404
                            }
                          }
                        }
                      ]
                    }
                  }
                }
              },
              "Conflict": {
                "description": "The request is not in a state that allows this (no archive yet, already finished, id taken).",
                "headers": {
                  "Cache-Control": {
                    "$ref": "#/components/headers/CacheControlNoStore"
                  },
                  "X-Content-Type-Options": {
                    "$ref": "#/components/headers/XContentTypeOptions"
                  }
                },
                "content": {
                  "application/problem+json": {
                    "schema": {
                      "allOf": [
                        {
                          "$ref": "#/components/schemas/Problem"
                        },
                        {
                          "properties": {
                            "status": {
                              "const": 409
                            }
                          }
                        }
                      ]
                    }
                  }
                }
              },
              "Gone": {
                "description": "The archive was deleted at the end of its retention period, or the link expired or is used up.",
                "headers": {
                  "Cache-Control": {
                    "$ref": "#/components/headers/CacheControlNoStore"
                  },
                  "X-Content-Type-Options": {
                    "$ref": "#/components/headers/XContentTypeOptions"
                  }
                },
                "content": {
                  "application/problem+json": {
                    "schema": {
                      "allOf": [
                        {
                          "$ref": "#/components/schemas/Problem"
                        },
                        {
                          "properties": {
                            "status": {
                              "const": 410
                            }
                          }
                        }
                      ]
                    }
                  }
                }
              },
              "ContentTooLarge": {
                "description": "The request body is larger than 64 KiB.",
                "headers": {
                  "Cache-Control": {
                    "$ref": "#/components/headers/CacheControlNoStore"
                  },
                  "X-Content-Type-Options": {
                    "$ref": "#/components/headers/XContentTypeOptions"
                  }
                },
                "content": {
                  "application/problem+json": {
                    "schema": {
                      "allOf": [
                        {
                          "$ref": "#/components/schemas/Problem"
                        },
                        {
                          "properties": {
                            "status": {
                              "const": 413
                            }
                          }
                        }
                      ]
                    }
                  }
                }
              },
              "UnsupportedMediaType": {
                "description": "The request body is not `application/json`.",
                "headers": {
                  "Cache-Control": {
                    "$ref": "#/components/headers/CacheControlNoStore"
                  },
                  "X-Content-Type-Options": {
                    "$ref": "#/components/headers/XContentTypeOptions"
                  }
                },
                "content": {
                  "application/problem+json": {
                    "schema": {
                      "allOf": [
                        {
                          "$ref": "#/components/schemas/Problem"
                        },
                        {
                          "properties": {
                            "status": {
                              "const": 415
                            }
                          }
                        }
                      ]
                    }
                  }
                }
              },
              "RangeNotSatisfiable": {
                "description": "The range starts past the end of the file.",
                "headers": {
                  "Content-Range": {
                    "$ref": "#/components/headers/ContentRangeUnsatisfied"
                  },
                  "Cache-Control": {
                    "$ref": "#/components/headers/CacheControlNoStore"
                  },
                  "X-Content-Type-Options": {
                    "$ref": "#/components/headers/XContentTypeOptions"
                  }
                },
                "content": {
                  "application/problem+json": {
                    "schema": {
                      "allOf": [
                        {
                          "$ref": "#/components/schemas/Problem"
                        },
                        {
                          "properties": {
                            "status": {
                              "const": 416
                            }
                          }
                        }
                      ]
                    }
                  }
                }
              },
              "TooManyRequests": {
                "description": "This peer failed to authenticate too often in the last minute.",
                "headers": {
                  "Retry-After": {
                    "$ref": "#/components/headers/RetryAfter"
                  },
                  "Cache-Control": {
                    "$ref": "#/components/headers/CacheControlNoStore"
                  },
                  "X-Content-Type-Options": {
                    "$ref": "#/components/headers/XContentTypeOptions"
                  }
                },
                "content": {
                  "application/problem+json": {
                    "schema": {
                      "allOf": [
                        {
                          "$ref": "#/components/schemas/Problem"
                        },
                        {
                          "properties": {
                            "status": {
                              "const": 429
                            }
                          }
                        }
                      ]
                    }
                  }
                }
              },
              "InternalServerError": {
                "description": "The server failed (the detail says nothing of why; the server's log does).",
                "headers": {
                  "Cache-Control": {
                    "$ref": "#/components/headers/CacheControlNoStore"
                  },
                  "X-Content-Type-Options": {
                    "$ref": "#/components/headers/XContentTypeOptions"
                  }
                },
                "content": {
                  "application/problem+json": {
                    "schema": {
                      "allOf": [
                        {
                          "$ref": "#/components/schemas/Problem"
                        },
                        {
                          "properties": {
                            "status": {
                              "const": 500
                            }
                          }
                        }
                      ]
                    }
                  }
                }
              },
              "ServiceUnavailable": {
                "description": "The request store cannot be reached.",
                "headers": {
                  "Cache-Control": {
                    "$ref": "#/components/headers/CacheControlNoStore"
                  },
                  "X-Content-Type-Options": {
                    "$ref": "#/components/headers/XContentTypeOptions"
                  }
                },
                "content": {
                  "application/problem+json": {
                    "schema": {
                      "allOf": [
                        {
                          "$ref": "#/components/schemas/Problem"
                        },
                        {
                          "properties": {
                            "status": {
                              "const": 503
                            }
                          }
                        }
                      ]
                    }
                  }
                }
              }
            },
            "securitySchemes": {
              "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "hov_t_<id>_<secret>",
                "description": "An operator token or a tenant token: `hov_t_<id>_<secret>`, shown once when it is made."
              }
            }
          },
          "webhooks": {
            "requestEvent": {
              "post": {
                "tags": [
                  "requests"
                ],
                "operationId": "requestEvent",
                "summary": "A request completed, failed for good, or nears its deadline",
                "description": "Posted by `handover worker` (and `handover serve --workers`) with `--notify-url` to the operator's own endpoint. `Handover-Signature: t=<unix seconds>,v1=<hex>` is HMAC-SHA-256, keyed with the secret of `--notify-secret-file`, over `<t>.` followed by the raw body: recompute it, compare in constant time, and refuse a `t` more than a few minutes from your clock. Any answer but 2xx (a redirect included: it is never followed) is retried with a doubling backoff; every attempt is recorded in the request's audit log.",
                "security": [],
                "parameters": [
                  {
                    "name": "Handover-Signature",
                    "in": "header",
                    "required": true,
                    "schema": {
                      "type": "string",
                      "pattern": "^t=[0-9]+,v1=[0-9a-f]{64}$"
                    }
                  },
                  {
                    "name": "Handover-Event-Id",
                    "in": "header",
                    "required": true,
                    "schema": {
                      "type": "string",
                      "pattern": "^evt_[0-9a-f]{16}$"
                    }
                  },
                  {
                    "name": "Handover-Event-Type",
                    "in": "header",
                    "required": true,
                    "schema": {
                      "enum": [
                        "request.completed",
                        "request.failed",
                        "request.deadline_approaching"
                      ]
                    }
                  }
                ],
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/NotificationEvent"
                      }
                    }
                  }
                },
                "responses": {
                  "2XX": {
                    "description": "Received. Anything else is retried."
                  }
                }
              }
            }
          }
        }
        """#
}
