// User tags on EC2 objects, changed in place (Reconix's own tags are never touched here).
import { ec2Sdk } from '../sdk.js';
import { aws } from '../errors.js';
import { tagDelta, toTagList, type Tags } from '../tags.js';
import type { Found, KindContext } from './kind.js';

const { CreateTagsCommand, DeleteTagsCommand } = ec2Sdk;

export async function syncTags(
  ctx: KindContext,
  region: string,
  what: string,
  id: string,
  current: Tags,
  desired: Tags,
): Promise<boolean> {
  const { set, remove } = tagDelta(current, desired);
  const ec2 = ctx.clients.ec2(region);
  if (Object.keys(set).length > 0) {
    await aws(`${what}: tagging ${id}`, () =>
      ec2.send(new CreateTagsCommand({ Resources: [id], Tags: toTagList(set) })),
    );
  }
  if (remove.length > 0) {
    await aws(`${what}: removing tags from ${id}`, () =>
      ec2.send(new DeleteTagsCommand({ Resources: [id], Tags: remove.map((Key) => ({ Key })) })),
    );
  }
  return Object.keys(set).length > 0 || remove.length > 0;
}

/**
 * The end of an in-place update: bring the user tags of `f` in line with `spec`, then describe the object again
 * (`f` stays if it cannot be found any more). `changed: false` says the update changed nothing else: when the tags
 * need no change either, `f` is the object as it is, and no call is made for it.
 */
export async function retagAndDescribe<T>(
  ctx: KindContext,
  spec: { region: string; key: string; tags: Tags },
  f: Found,
  describe: () => Promise<T | undefined>,
  toFound: (described: T) => Found,
  changed = true,
): Promise<Found> {
  const tags = (f.attrs.tags as Tags | undefined) ?? {};
  const retagged = await syncTags(ctx, spec.region, spec.key, f.id, tags, spec.tags);
  if (!changed && !retagged) return f;
  const described = await aws(`${spec.key}: describing ${f.id}`, describe);
  return described ? toFound(described) : f;
}
