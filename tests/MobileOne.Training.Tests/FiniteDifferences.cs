using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace MobileOne.Training.Tests;

/// <summary>One tensor a finite-difference check may perturb.</summary>
internal sealed record Perturbable(string Name, int Length, Func<int, float> Get, Action<int, float> Set);

/// <summary>
/// Finite differences of a float forward pass (the loss is summed in double; the network itself runs in float, as the
/// training kernels have no double path) with a strict verdict: <b>every</b> sampled entry of a tensor must agree.
/// <para>
/// Tolerance: <c>|analytic − numeric| ≤ <see cref="RelativeTolerance"/> · max(|analytic|, |numeric|) + k · noise / h</c>,
/// where <c>noise</c> bounds the float rounding of one loss evaluation, measured by <see cref="MeasureNoise"/> (not
/// guessed), and k = 1 for a central difference (two evaluations, divided by 2h), 2 for a one-sided one.
/// </para>
/// <para>
/// The loss is only piecewise smooth (ReLUs), and a float forward cannot use steps small enough to stay clear of every
/// kink. So each entry walks down a ladder of steps (<see cref="Ladder"/>: 1e-3, 3e-3, 3e-4, 1e-4, then smaller ones
/// while the rounding term stays within 25 % of the derivative) and agrees at the first step where
/// <list type="bullet">
/// <item>the central difference agrees (no kink crossed, or a harmless one), or</item>
/// <item>a kink sits at the point itself (the forward and backward one-sided differences clearly disagree with each
/// other, by more than their rounding and relative terms) and the backward's value matches one of the two: the
/// one-sided derivative on the point's side, which is what a backward computes. This happens: a block case has a
/// pre-activation within 3e-8 of 0, and with other seeds the full nets have some within 1e-5.</item>
/// </list>
/// None of this is an allowance for a wrong backward: a wrong gradient is off by a fixed amount at every step and on
/// both sides, while the numeric values scatter only where kinks are crossed; and every sampled entry of every tensor
/// must agree.
/// </para>
/// </summary>
internal static class FiniteDifferences
{
    /// <summary>
    /// 2 %: the float forward (batch-statistics BN, SIMD sums, SE) leaves a few 1e-3 of relative jitter in the numeric
    /// derivative beyond the absolute rounding term, and the O(h²) truncation error of the curved (BN) loss reaches ~1 %
    /// at h = 1e-3; the backward bugs guarded against (sign, missing branch or term, wrong index, wrong scale) are off
    /// by far more than 2 % on some sampled entry.
    /// </summary>
    public const double RelativeTolerance = 2e-2;

    /// <summary>Safety factor on the measured rounding noise (the measurement is the max of a few dozen probes).</summary>
    public const double NoiseMargin = 4;

    /// <summary>Steps, absolute on the parameter value (the nets' parameters are of order 0.1–3), in the order tried.</summary>
    private static readonly float[] AllSteps = { 1e-3f, 3e-3f, 3e-4f, 1e-4f, 3e-5f, 1e-5f };

    /// <summary>
    /// The steps tried for a derivative of about <paramref name="magnitude"/>: 1e-3, 3e-3, 3e-4 and 1e-4 always, then
    /// the smaller ones while the rounding term noise / h stays within 25 % of the derivative (they are reached only by
    /// entries with kinks on both sides within 1e-4, and still tell a sign or a missing term).
    /// </summary>
    public static IEnumerable<float> Ladder(double magnitude, double noise) =>
        AllSteps.Where((h, k) => k < 4 || noise / h <= 0.25 * magnitude);

    /// <summary>One sampled entry: the first step at which it agreed, or the closest miss.</summary>
    public sealed record Entry(int Index, double Analytic, double Numeric, double Step, int Tries, double Tolerance, bool OneSided)
    {
        public double Error => Math.Abs(Analytic - Numeric);

        public bool Agrees => Error <= Tolerance;

        public string Describe() => string.Create(CultureInfo.InvariantCulture,
            $"[{Index}] analytic {Analytic:E4} numeric {Numeric:E4} ({(OneSided ? "one-sided" : "central")}, h {Step:E1}, closest of {Tries} steps) |Δ| {Error:E2} > tol {Tolerance:E2}");
    }

    /// <summary>All sampled entries of one tensor.</summary>
    public sealed record Result(string Name, IReadOnlyList<Entry> Entries, double Noise)
    {
        /// <summary>At least one entry was checked and every one agreed.</summary>
        public bool Passed => Entries.Count > 0 && Entries.All(e => e.Agrees);

        /// <summary>Entries whose derivative stands 10x clear of the rounding term at h = 1e-3.</summary>
        public int AboveNoise => Entries.Count(e => Math.Max(Math.Abs(e.Analytic), Math.Abs(e.Numeric)) > 10 * Noise / 1e-3);

        public string Describe()
        {
            int agree = Entries.Count(e => e.Agrees);
            int retried = Entries.Count(e => e.Agrees && e.Tries > 1);
            int oneSided = Entries.Count(e => e.Agrees && e.OneSided);
            double worst = Entries.Count == 0 ? double.NaN : Entries.Max(e => e.Error / e.Tolerance);
            string head = string.Create(CultureInfo.InvariantCulture,
                $"{Name,-40} {agree}/{Entries.Count} agree ({retried} after a step change, {oneSided} one-sided at a kink; {AboveNoise} clear of the rounding), worst |Δ|/tol {worst:F3}");
            IEnumerable<Entry> bad = Entries.Where(e => !e.Agrees);
            return bad.Any() ? head + "\n      " + string.Join("\n      ", bad.Select(e => e.Describe())) : head;
        }
    }

    /// <summary>
    /// Checks <paramref name="samples"/> distinct entries (all of them when the tensor has no more) of
    /// <paramref name="tensor"/> against finite differences of <paramref name="loss"/>.
    /// </summary>
    /// <param name="noise">Bound on the absolute float rounding of one <paramref name="loss"/> evaluation.</param>
    public static Result Check(Perturbable tensor, Func<int, float> analytic, Func<double> loss, double noise, Random random, int samples = 12)
    {
        var entries = new List<Entry>();
        double l0 = loss();
        foreach (int i in Sample(tensor.Length, samples, random))
        {
            float saved = tensor.Get(i);
            double a = analytic(i);
            Entry? best = null;
            int tries = 0;
            foreach (float step in Ladder(Math.Abs(a), noise))
            {
                tries++;
                tensor.Set(i, saved + step);
                double plus = loss();
                tensor.Set(i, saved - step);
                double minus = loss();
                tensor.Set(i, saved);
                double hPlus = (double)(saved + step) - saved, hMinus = saved - (double)(saved - step); // the steps taken in float
                double central = (plus - minus) / (hPlus + hMinus), forward = (plus - l0) / hPlus, backward = (l0 - minus) / hMinus;
                double h = Math.Min(hPlus, hMinus);
                var candidates = new List<Entry> { new(i, a, central, h, tries, Tolerance(a, central, noise / h), OneSided: false) };
                if (Math.Abs(forward - backward) > Tolerance(forward, backward, 4 * noise / h))
                {
                    // The one-sided slopes differ beyond rounding: a kink at the point (or crossed by the step).
                    candidates.Add(new(i, a, forward, h, tries, Tolerance(a, forward, 2 * noise / h), OneSided: true));
                    candidates.Add(new(i, a, backward, h, tries, Tolerance(a, backward, 2 * noise / h), OneSided: true));
                }

                // The central difference when it agrees; otherwise the closest candidate.
                Entry closest = candidates[0].Agrees ? candidates[0] : candidates.OrderBy(e => e.Error / e.Tolerance).First();
                if (best is null || closest.Error / closest.Tolerance < best.Error / best.Tolerance)
                {
                    best = closest;
                }

                if (closest.Agrees)
                {
                    break;
                }
            }

            entries.Add(best! with { Tries = tries });
        }

        return new Result(tensor.Name, entries, noise);
    }

    /// <summary>
    /// <see cref="NoiseMargin"/> times the largest float rounding of <paramref name="loss"/> seen over
    /// <paramref name="samples"/> probes: an entry of a random tensor is moved by ±(1–4) float ulps, which changes the
    /// rounding everywhere downstream while the exact loss moves by ~1e-7 · |gradient · value|, and that linear part
    /// cancels in <c>(L(+) + L(−)) / 2 − L(0)</c>; what remains is rounding (curvature · ulp² is ~1e-14).
    /// </summary>
    public static double MeasureNoise(Func<double> loss, IReadOnlyList<Perturbable> tensors, Random random, int samples = 32)
    {
        double l0 = loss();
        double worst = 0;
        for (int s = 0; s < samples; s++)
        {
            Perturbable t = tensors[random.Next(tensors.Count)];
            int i = random.Next(t.Length);
            float saved = t.Get(i), up = saved, down = saved;
            for (int u = random.Next(4); u >= 0; u--)
            {
                up = MathF.BitIncrement(up);
                down = MathF.BitDecrement(down);
            }

            t.Set(i, up);
            double plus = loss();
            t.Set(i, down);
            double minus = loss();
            t.Set(i, saved);
            worst = Math.Max(worst, Math.Abs(plus + minus - (2 * l0)) / 2);
        }

        Xunit.Assert.Equal(l0, loss()); // deterministic forward and every entry restored, or nothing here means anything
        return NoiseMargin * Math.Max(worst, 1e-12);
    }

    private static double Tolerance(double x, double y, double absolute) => (RelativeTolerance * Math.Max(Math.Abs(x), Math.Abs(y))) + absolute;

    /// <summary>min(count, length) distinct indices in [0, length) (partial Fisher–Yates).</summary>
    private static IEnumerable<int> Sample(int length, int count, Random random)
    {
        int[] idx = Enumerable.Range(0, length).ToArray();
        int n = Math.Min(count, length);
        for (int k = 0; k < n; k++)
        {
            int j = random.Next(k, length);
            (idx[k], idx[j]) = (idx[j], idx[k]);
            yield return idx[k];
        }
    }
}
