using System;
using System.Collections.Generic;
using System.Linq;

namespace MobileOne.Training.Tests;

/// <summary>
/// Central differences in float with a robust verdict: an entry agrees when
/// <c>|analytic − numeric| ≤ 2e-2 · max(|analytic|, |numeric|) + atol</c>, where atol is the loss's float rounding
/// divided by the step; a tensor passes when at least 80 % of its sampled entries agree (a ReLU kink crossed by the
/// step spoils single entries; a wrong backward spoils them all).
/// </summary>
internal static class FiniteDifferences
{
    public static (int Agree, int Total, double WorstRel) Check(Func<double> loss, Func<int, float> analytic, int length,
        Func<int, float> get, Action<int, float> set, Random random, float step, int samples = 12)
    {
        int agree = 0, total = 0;
        double worst = 0;
        foreach (int i in Enumerable.Range(0, samples).Select(_ => random.Next(length)).Distinct())
        {
            float saved = get(i);
            set(i, saved + step);
            double plus = loss();
            set(i, saved - step);
            double minus = loss();
            set(i, saved);
            double numeric = (plus - minus) / ((double)(saved + step) - (saved - step));
            double a = analytic(i);
            double atol = 4e-7 * (Math.Abs(plus) + Math.Abs(minus) + 1) / step;
            double err = Math.Abs(a - numeric);
            double rel = err / Math.Max(Math.Max(Math.Abs(a), Math.Abs(numeric)), 1e-12);
            if (err <= (2e-2 * Math.Max(Math.Abs(a), Math.Abs(numeric))) + atol)
            {
                agree++;
            }
            else
            {
                worst = Math.Max(worst, rel);
            }

            total++;
        }

        return (agree, total, worst);
    }

    public static bool Passes((int Agree, int Total, double WorstRel) r) => r.Agree >= 0.8 * r.Total;
}
