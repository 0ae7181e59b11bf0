using System;
using System.Linq;
using System.Net.Http;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace MobileOne.Server.Tests;

/// <summary>
/// The real server (<see cref="ServerApp.Build"/>) on Kestrel, in this process, on a loopback port the OS picks
/// (<c>--urls http://127.0.0.1:0</c>; the bound address is read back from <see cref="IServerAddressesFeature"/>).
/// </summary>
public sealed class RunningServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private RunningServer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
        Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
    }

    /// <summary>Gets the base address, e.g. http://127.0.0.1:41234/.</summary>
    public Uri Address { get; }

    /// <summary>Gets the application's services.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>Gets a client for <see cref="Address"/>.</summary>
    public HttpClient Client { get; }

    /// <summary>Builds and starts a server with the given options.</summary>
    /// <param name="args">Server options (<c>--urls</c> is added).</param>
    /// <returns>The running server.</returns>
    public static async Task<RunningServer> StartAsync(params string[] args)
    {
        WebApplication app = ServerApp.Build(["--urls", "http://127.0.0.1:0", .. args]);
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        return new RunningServer(app, new Uri(address.TrimEnd('/') + "/"));
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>Two servers for the whole collection: micro-batching on (the default) and off, both with a 1 MiB body limit.</summary>
public sealed class ServerFixture : Xunit.IAsyncLifetime
{
    /// <summary>The body limit the fixture's servers use (small, so the 413 tests send little).</summary>
    public const int MaxBodyBytes = 1024 * 1024;

    private RunningServer? _batched;
    private RunningServer? _unbatched;

    /// <summary>Gets the server with micro-batching (up to 16 images or 20 ms).</summary>
    public RunningServer Batched => _batched ?? throw new InvalidOperationException("Not started.");

    /// <summary>Gets the server started with <c>--no-batching</c>.</summary>
    public RunningServer Unbatched => _unbatched ?? throw new InvalidOperationException("Not started.");

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        string limit = MaxBodyBytes.ToString(System.Globalization.CultureInfo.InvariantCulture);
        _batched = await RunningServer.StartAsync("--max-batch", "16", "--batch-wait-ms", "20", "--max-body-bytes", limit);
        _unbatched = await RunningServer.StartAsync("--no-batching", "--max-body-bytes", limit);
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_batched != null)
        {
            await _batched.DisposeAsync();
        }

        if (_unbatched != null)
        {
            await _unbatched.DisposeAsync();
        }
    }
}

/// <summary>The tests that use the shared servers run one class at a time (the machine has few cores).</summary>
[Xunit.CollectionDefinition(Name)]
public sealed class ServerCollection : Xunit.ICollectionFixture<ServerFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Server";
}
