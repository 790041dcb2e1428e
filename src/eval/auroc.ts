// The area under the ROC curve of a score that should be higher for positives (anomalies):
//
//   AUROC = P(s⁺ > s⁻) + ½ P(s⁺ = s⁻) = (R⁺ − n⁺(n⁺ + 1)/2) / (n⁺ n⁻)
//
// R⁺ = the sum of the positives' ranks among all scores (1-based, ties share their mean rank): the
// Mann–Whitney U statistic over n⁺ n⁻. 1 separates perfectly, 0.5 is chance.
export function auroc(scores: ArrayLike<number>, positive: ArrayLike<boolean>): number {
  const n = scores.length;
  if (positive.length !== n) throw new Error(`auroc: ${n} scores but ${positive.length} labels`);
  let nPos = 0;
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(scores[i])) throw new Error(`auroc: score ${i} is NaN`);
    if (positive[i]) nPos++;
  }
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) throw new Error(`auroc: needs both classes (${nPos} positive, ${nNeg} negative)`);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (scores[a] < scores[b] ? -1 : scores[a] > scores[b] ? 1 : 0));
  let rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const meanRank = (i + j) / 2 + 1; // ranks i+1 .. j+1
    for (let t = i; t <= j; t++) if (positive[order[t]]) rankSum += meanRank;
    i = j + 1;
  }
  return (rankSum - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}
