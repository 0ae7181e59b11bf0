using System;
using System.Net;

namespace MobileOne.LoadGenerator;

/// <summary>Refuses any target but this machine: the load generator is for loopback measurements, never for other hosts.</summary>
public static class LoopbackGuard
{
    /// <summary>Returns <paramref name="url"/> as an absolute http(s) URI on a loopback address.</summary>
    /// <param name="url">The URL.</param>
    /// <returns>The URI.</returns>
    /// <exception cref="FormatException">Not an absolute http(s) URL, or its host is not loopback.</exception>
    public static Uri Check(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out Uri? uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new FormatException($"'{url}' is not an absolute http or https URL.");
        }

        if (!IsLoopback(uri))
        {
            throw new FormatException($"'{url}' is not a loopback address: the load generator only targets this machine (127.0.0.0/8, ::1, localhost).");
        }

        return uri;
    }

    /// <summary>Tells whether <paramref name="uri"/>'s host is a loopback IP address or <c>localhost</c>.</summary>
    /// <param name="uri">The URI.</param>
    /// <returns>True for loopback.</returns>
    public static bool IsLoopback(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        return uri.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6
            ? IPAddress.TryParse(uri.DnsSafeHost, out IPAddress? address) && IPAddress.IsLoopback(address)
            : string.Equals(uri.Host, "localhost", StringComparison.OrdinalIgnoreCase);
    }
}
