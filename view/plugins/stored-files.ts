// Stored files under /uploads when they live on local disk (an S3 bucket, or the CDN in front of it,
// serves its own): immutable, cacheable forever, embeddable by other origins, nothing but stored objects.
import fastifyStatic from '@fastify/static'
import type { FastifyInstance } from 'fastify'
import { resolve } from 'node:path'
import { localUploadsPrefix } from '../../service/storage/local.ts'
import { isStorageKey } from '../../service/storage/storage.ts'

export async function registerStoredFiles(app: FastifyInstance, uploadDir: string): Promise<void> {
  await app.register(fastifyStatic, {
    root: resolve(uploadDir),
    prefix: localUploadsPrefix,
    // Stored names are generated and never reused, so the files can be cached forever.
    immutable: true,
    maxAge: '365d',
    index: false,
    list: false,
    // Only stored objects: no dotfiles, no half-written `.partial` files, nothing else under UPLOAD_DIR.
    allowedPath: (path) => isStorageKey(path.slice(1)),
    // Pictures are embedded by web clients on other origins; the API's same-origin policy would block them.
    setHeaders: (reply) => {
      reply.header('cross-origin-resource-policy', 'cross-origin')
    }
  })
}
