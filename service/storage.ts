// Where uploaded files live. Services see only this interface; app.ts picks the implementation.
import type { Readable } from 'node:stream'

export interface StoredObject {
  key: string
  size: number
}

export interface Storage {
  /** Streams `body` to `key`. Rejects (and leaves nothing behind) if the stream errors. */
  put(key: string, body: Readable, contentType: string): Promise<StoredObject>
  /** Removes `key`; removing a missing key is not an error. */
  delete(key: string): Promise<void>
  /** Public URL of `key`: absolute, or a path starting with "/" for the view to make absolute. */
  url(key: string): string
}
