import { API_VERSION } from '@bosun/core';
import type { SwaggerTransformObject } from '@fastify/swagger';
import type { FastifySwaggerUiOptions } from '@fastify/swagger-ui';

/**
 * `Miru-Version` as the reference declares it: one component parameter, required, referenced from
 * every path. The auth hook checks the header before anything else, so a document without it makes
 * every client generated from it (and Swagger UI's "Try it out") fail with 400 missing_version.
 */
export const MIRU_VERSION_PARAMETER = {
  name: 'Miru-Version',
  in: 'header',
  required: true,
  description: 'The API version the client was built against: any date of the tetons train.',
  schema: { type: 'string', default: API_VERSION, example: API_VERSION },
};

const VERSION_REF = { $ref: '#/components/parameters/MiruVersion' };

type Parameter = { $ref: string } | Record<string, unknown>;
type PathItem = { parameters?: Parameter[] } & Record<string, unknown>;

/** `transformObject` of @fastify/swagger: adds the version header to every path of the document. */
export const declareVersionHeader: SwaggerTransformObject = (document) => {
  if (!('openapiObject' in document)) return document.swaggerObject;
  const doc = document.openapiObject as {
    paths?: Record<string, PathItem>;
    components?: { parameters?: Record<string, unknown> };
  };
  const paths: Record<string, PathItem> = {};
  for (const [url, { parameters = [], ...operations }] of Object.entries(doc.paths ?? {})) {
    const others = parameters.filter((p) => p.$ref !== VERSION_REF.$ref);
    paths[url] = { parameters: [VERSION_REF, ...others], ...operations };
  }
  const result = {
    ...doc,
    paths,
    components: {
      ...doc.components,
      parameters: { ...doc.components?.parameters, MiruVersion: MIRU_VERSION_PARAMETER },
    },
  };
  return result as ReturnType<SwaggerTransformObject>;
};

/** Bosun's mark for `/docs` (top bar and favicon) instead of the stock Swagger logo. */
export const BOSUN_LOGO_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 220 48" width="220" height="48">
<rect x="2" y="2" width="44" height="44" rx="10" fill="#0b3d5c"/>
<circle cx="24" cy="24" r="11" fill="none" stroke="#f5b82e" stroke-width="4"/>
<path d="M24 6v36M6 24h36M11 11l26 26M37 11 11 37" stroke="#f5b82e" stroke-width="3" stroke-linecap="round"/>
<circle cx="24" cy="24" r="4" fill="#f5b82e"/>
<text x="58" y="33" font-family="Helvetica, Arial, sans-serif" font-size="26" font-weight="700" fill="#ffffff">Bosun API</text>
</svg>`;

const BOSUN_ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 48 48" width="32" height="32">
<rect x="2" y="2" width="44" height="44" rx="10" fill="#0b3d5c"/>
<circle cx="24" cy="24" r="11" fill="none" stroke="#f5b82e" stroke-width="4"/>
<circle cx="24" cy="24" r="4" fill="#f5b82e"/>
</svg>`;

/** Options of @fastify/swagger-ui that brand `/docs` as Bosun. */
export const docsBranding: Pick<FastifySwaggerUiOptions, 'logo' | 'theme'> = {
  logo: { type: 'image/svg+xml', content: Buffer.from(BOSUN_LOGO_SVG), href: '/docs', target: '_self' },
  theme: {
    title: 'Bosun API reference',
    favicon: [
      {
        filename: 'bosun.svg',
        rel: 'icon',
        sizes: 'any',
        type: 'image/svg+xml',
        content: Buffer.from(BOSUN_ICON_SVG),
      },
    ],
    css: [{ filename: 'bosun.css', content: '.swagger-ui .topbar { background-color: #0b3d5c; }' }],
  },
};
