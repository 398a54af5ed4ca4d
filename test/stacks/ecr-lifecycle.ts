/**
 * Evaluates an ECR lifecycle policy the way ECR documents it, to check which images a policy
 * expires: rules run from the lowest rulePriority up; an image that matches the tag selection of a
 * rule can never be expired by a rule of lower priority (a later one), though later rules still
 * count it; imageCountMoreThan keeps the newest pushed, sinceImagePushed expires the older ones;
 * with tagPrefixList an image matches when every prefix matches one of its tags.
 */

export interface LifecycleRule {
  rulePriority: number;
  selection: {
    tagStatus: "tagged" | "untagged" | "any";
    tagPrefixList?: string[];
    tagPatternList?: string[];
    countType: "imageCountMoreThan" | "sinceImagePushed";
    countNumber: number;
    countUnit?: "days";
  };
  action: { type: "expire" };
}

export interface RegistryImage {
  digest: string;
  tags: string[];
  pushedAt: Date;
}

const wildcard = (pattern: string) => new RegExp(`^${pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);

function selects(rule: LifecycleRule, image: RegistryImage): boolean {
  const { tagStatus, tagPrefixList, tagPatternList } = rule.selection;
  if (tagStatus === "untagged") return image.tags.length === 0;
  if (tagStatus === "any") return true;
  if (image.tags.length === 0) return false;
  if (tagPrefixList) return tagPrefixList.every((prefix) => image.tags.some((tag) => tag.startsWith(prefix)));
  if (tagPatternList) return tagPatternList.every((pattern) => image.tags.some((tag) => wildcard(pattern).test(tag)));
  return false;
}

/** The digests the policy expires at `now`. */
export function expiredImages(policy: { rules: LifecycleRule[] }, images: RegistryImage[], now: Date): Set<string> {
  const rules = [...policy.rules].sort((a, b) => a.rulePriority - b.rulePriority);
  const claimed = new Set<string>();
  const expired = new Set<string>();
  for (const rule of rules) {
    const matched = images.filter((image) => selects(rule, image)).sort((a, b) => b.pushedAt.getTime() - a.pushedAt.getTime());
    const { countType, countNumber } = rule.selection;
    const candidates = countType === "imageCountMoreThan" ? matched.slice(countNumber) : matched.filter((image) => now.getTime() - image.pushedAt.getTime() > countNumber * 24 * 3600_000);
    for (const image of candidates) if (!claimed.has(image.digest)) expired.add(image.digest);
    for (const image of matched) claimed.add(image.digest);
  }
  return expired;
}
