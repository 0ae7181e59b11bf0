using System;
using System.Globalization;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace MobileOne.Server.Http;

/// <summary>
/// Reads the uploaded image into memory, never to disk, within the body limit: a raw body with an image
/// Content-Type, or the first file part of a multipart/form-data body (read with <see cref="MultipartReader"/>
/// directly: <c>Request.Form</c> would buffer large files to temporary files). At most
/// <c>MaxConcurrentUploads</c> bodies are buffered at once; other requests wait their turn, and a request that has
/// not got a slot and sent its whole body within the upload timeout is answered 408 (a client trickling its body
/// cannot hold a slot for long: Kestrel's own minimum data rate, 240 bytes/s, would allow hours for 8 MiB).
/// </summary>
public sealed class UploadReader : IDisposable
{
    private const int MaxBoundaryLength = 70; // RFC 2046
    private const int MaxParts = 16;
    private const string Accepted = "Send the image as the body with Content-Type image/jpeg, image/png or image/bmp "
        + "(any image/* or application/octet-stream is accepted; the format is read from the bytes), or as a file in a multipart/form-data body.";

    private readonly int _maxBodyBytes;
    private readonly TimeSpan _timeout;
    private readonly SemaphoreSlim _gate;

    /// <summary>Initializes a new instance of the <see cref="UploadReader"/> class.</summary>
    /// <param name="maxBodyBytes">The largest body accepted.</param>
    /// <param name="maxConcurrentUploads">How many bodies may be buffered at once.</param>
    /// <param name="timeout">How long getting a slot and reading the body may take.</param>
    public UploadReader(int maxBodyBytes, int maxConcurrentUploads, TimeSpan timeout)
    {
        _maxBodyBytes = maxBodyBytes;
        _timeout = timeout;
        _gate = new SemaphoreSlim(maxConcurrentUploads, maxConcurrentUploads);
    }

    /// <summary>Reads the image bytes of <paramref name="request"/>.</summary>
    /// <param name="request">The request.</param>
    /// <param name="cancellationToken">The request's abort token.</param>
    /// <returns>The image bytes; dispose to return the buffer.</returns>
    /// <exception cref="RequestRejectedException">415, 413, 408 or 400: see the message.</exception>
    public async Task<PooledBuffer> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out MediaTypeHeaderValue? type))
        {
            throw new RequestRejectedException(415, "Unsupported media type", $"The request has no usable Content-Type. {Accepted}");
        }

        bool multipart = type.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase);
        if (!multipart && !IsImageType(type))
        {
            throw new RequestRejectedException(415, "Unsupported media type", $"Content-Type {type.MediaType} is not accepted. {Accepted}");
        }

        if (request.ContentLength > _maxBodyBytes)
        {
            throw TooLarge();
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        try
        {
            await _gate.WaitAsync(timeout.Token).ConfigureAwait(false);
            try
            {
                return multipart
                    ? await ReadFilePartAsync(request.Body, type, timeout.Token).ConfigureAwait(false)
                    : await ReadBoundedAsync(request.Body, request.ContentLength, timeout.Token).ConfigureAwait(false);
            }
            finally
            {
                _gate.Release();
            }
        }
        catch (BadHttpRequestException e)
        {
            // Kestrel's own limits (MaxRequestBodySize: 413; a client that stops sending: 408 / 400).
            string title = e.StatusCode switch { 413 => "Body too large", 408 => "Request timeout", _ => "Bad request" };
            throw new RequestRejectedException(e.StatusCode, title, e.Message);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new RequestRejectedException(408, "Request timeout",
                string.Create(CultureInfo.InvariantCulture, $"The upload did not complete within {_timeout.TotalSeconds:0.#} s."));
        }
    }

    /// <inheritdoc />
    public void Dispose() => _gate.Dispose();

    private static bool IsImageType(MediaTypeHeaderValue type) =>
        type.MediaType.StartsWith("image/", StringComparison.OrdinalIgnoreCase)
        || type.MediaType.Equals("application/octet-stream", StringComparison.OrdinalIgnoreCase);

    private async Task<PooledBuffer> ReadFilePartAsync(Stream body, MediaTypeHeaderValue type, CancellationToken cancellationToken)
    {
        string boundary = HeaderUtilities.RemoveQuotes(type.Boundary).ToString();
        if (boundary.Length == 0 || boundary.Length > MaxBoundaryLength)
        {
            throw new RequestRejectedException(400, "Malformed multipart body", $"The multipart boundary is missing or longer than {MaxBoundaryLength} characters.");
        }

        var reader = new MultipartReader(boundary, body)
        {
            HeadersCountLimit = 16,
            HeadersLengthLimit = 16 * 1024,
            BodyLengthLimit = _maxBodyBytes,
        };
        try
        {
            for (int part = 0; part < MaxParts; part++)
            {
                MultipartSection section = await reader.ReadNextSectionAsync(cancellationToken).ConfigureAwait(false)
                    ?? throw new RequestRejectedException(400, "No image", "The multipart body has no file part (a part with a filename).");
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out ContentDispositionHeaderValue? disposition)
                    || !disposition.IsFileDisposition())
                {
                    continue; // a form field: skipped (the reader drains it within the limits)
                }

                if (section.ContentType != null
                    && (!MediaTypeHeaderValue.TryParse(section.ContentType, out MediaTypeHeaderValue? partType) || !IsImageType(partType)))
                {
                    throw new RequestRejectedException(415, "Unsupported media type", $"The file part's Content-Type {section.ContentType} is not accepted. {Accepted}");
                }

                return await ReadBoundedAsync(section.Body, null, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (InvalidDataException e)
        {
            // MultipartReader's limits and syntax errors.
            throw new RequestRejectedException(400, "Malformed multipart body", e.Message);
        }
        catch (IOException e) when (e is not BadHttpRequestException)
        {
            // The body ended before a boundary ("Unexpected end of Stream").
            throw new RequestRejectedException(400, "Malformed multipart body", $"The multipart body is malformed or truncated: {e.Message}");
        }

        throw new RequestRejectedException(400, "Malformed multipart body", $"The multipart body has no file part in its first {MaxParts} parts.");
    }

    private async Task<PooledBuffer> ReadBoundedAsync(Stream stream, long? expectedLength, CancellationToken cancellationToken)
    {
        // Room for one byte past the limit, to tell "exactly the limit" from "over it".
        int capacity = (int)Math.Min((expectedLength ?? 64 * 1024) + 1, _maxBodyBytes + 1L);
        var buffer = new PooledBuffer(capacity);
        try
        {
            while (true)
            {
                if (buffer.Free.Length == 0)
                {
                    buffer.Grow((int)Math.Min(buffer.Length * 2L, _maxBodyBytes + 1L));
                }

                int read = await stream.ReadAsync(buffer.Free, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return buffer;
                }

                buffer.Advance(read);
                if (buffer.Length > _maxBodyBytes)
                {
                    throw TooLarge();
                }
            }
        }
        catch
        {
            buffer.Dispose();
            throw;
        }
    }

    private RequestRejectedException TooLarge() =>
        new(413, "Body too large", $"The request body is too large: the limit is {_maxBodyBytes} bytes.");
}
