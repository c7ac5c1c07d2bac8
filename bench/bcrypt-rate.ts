// How many bcrypt compares per second this machine does: the ceiling for POST /login.
import bcrypt from 'bcrypt'

/** libuv's threadpool runs bcrypt's async work; its size bounds how many compares run at once. */
export function threadpoolSize(): number {
  const configured = Number(process.env.UV_THREADPOOL_SIZE)
  return Number.isInteger(configured) && configured > 0 ? configured : 4
}

/** The cost a stored hash was made with ("$2b$10$…" → 10). */
export function bcryptCost(hash: string): number {
  const match = /^\$2[abxy]?\$(\d{2})\$/.exec(hash)
  if (!match) throw new Error('Not a bcrypt hash')
  return Number(match[1])
}

/** Compares per second with `parallelism` compares always in flight, over about `seconds`. */
export async function bcryptComparesPerSecond(
  hash: string,
  password: string,
  seconds: number,
  parallelism = threadpoolSize()
) {
  const deadline = performance.now() + seconds * 1000
  let done = 0
  const worker = async () => {
    while (performance.now() < deadline) {
      if (!(await bcrypt.compare(password, hash))) throw new Error('The seeded password hash does not match')
      done += 1
    }
  }
  const start = performance.now()
  await Promise.all(Array.from({ length: parallelism }, worker))
  return { perSecond: done / ((performance.now() - start) / 1000), parallelism }
}
