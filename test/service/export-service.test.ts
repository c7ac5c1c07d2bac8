// ExportService: the parts in order, a list in one part per page to its end, NotFound for an account gone.
import t from 'tap'
import { buildServices } from '../../app.ts'
import { NotFound } from '../../service/errors.ts'
import type { ExportPart } from '../../service/export-service.ts'
import { testConfig } from '../helper.ts'

t.test('ExportService', async (t) => {
  const services = await buildServices(await testConfig(t))
  t.teardown(() => services.close())
  const { userService, tweetService, followService, exportService } = services
  const signUp = async (name: string) =>
    (await userService.signUp({ name, email: `${name}@example.com`, password: 'password123', profile: '' })).id
  const [owner, friend] = [await signUp('owner'), await signUp('friend')]
  for (let i = 0; i < 150; i++) await tweetService.tweet(owner, `tweet ${i}`)
  await followService.follow(owner, friend)

  t.test('profile, then each list page by page in the document’s order', async (t) => {
    const parts: ExportPart[] = []
    for await (const part of exportService.export(owner)) parts.push(part)
    t.same(
      parts.map((part) => [part.part, 'items' in part ? part.items.length : 1]),
      [
        ['profile', 1],
        ['tweets', 100],
        ['tweets', 50],
        ['following', 1],
        ['followers', 0],
        ['likes', 0],
        ['media', 0]
      ]
    )
    t.match(parts[0], { part: 'profile', profile: { id: owner, email: 'owner@example.com' } })
  })

  t.test('an account that is gone is NotFound before anything else', async (t) => {
    await t.rejects(exportService.export(999_999).next(), NotFound)
  })
})
