// Response serialisation: each route's zod response schema is turned into JSON Schema once, at start,
// and compiled by fast-json-stringify (Fastify's own serializer), instead of walking zod per reply.
import fastJson from 'fast-json-stringify'
import type { FastifySerializerCompiler } from 'fastify/types/schema.js'
import { z } from 'zod'

export const serializerCompiler: FastifySerializerCompiler<unknown> = ({ schema }) => {
  const jsonSchema =
    schema instanceof z.ZodType ? z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' }) : schema
  const { $schema: _dialect, ...rest } = jsonSchema as Record<string, unknown>
  return fastJson(rest)
}
